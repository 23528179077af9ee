"""Monthly reports for commanders: what the bot saw and did, per commune."""
