"""botkit: chat-group moderation and alerting bots for commune and ward police."""

__version__ = "0.1.0"
