"""Pictures in messages: fetched through their adapter, decoded within limits, read by OCR
and fingerprinted. Nothing of a picture is kept but its fingerprint and a redacted excerpt of
the text read from it (a picture of a resident's notice is personal data like a message)."""
