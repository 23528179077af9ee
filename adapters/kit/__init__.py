"""The adapter kit: what every chat platform's adapter needs, written once.

A webhook server with a signature hook, the receive loop's back-off, text splitting,
button presses waiting for the core's reply, rate limiters, commands typed by officers,
settings read from `[adapters.<name>]` and secrets saved atomically. Nothing here imports
a platform library; adding a platform means one new package that uses these pieces.
"""
