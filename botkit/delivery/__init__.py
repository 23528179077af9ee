"""Delivery: the sender that empties the outbox, off the pipeline's path."""

from botkit.delivery.sender import Sender

__all__ = ["Sender"]
