"""What residents do with the bot in a private chat: ask about procedures, report."""
