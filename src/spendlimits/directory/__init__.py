"""The platform's mirror: organizations, users, groups, memberships, models, chats and messages."""
