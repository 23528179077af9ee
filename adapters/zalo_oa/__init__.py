"""Zalo Official Account (OA API v3): residents' messages from GMF groups and direct chats,
alerts to officers as OA messages with buttons, access tokens kept fresh.

`[adapters.zalo_oa]` is described in `settings.py`; a GMF group is bound to a commune in
the config as `[[groups]] platform = "zalo_oa", chat = "group:<group id>"` (`chats.py`).
"""

from adapters.zalo_oa.adapter import ZaloOAAdapter

__all__ = ["ZaloOAAdapter"]
