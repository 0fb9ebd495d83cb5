"""Live status: pushing a user's limit status as it changes, from whichever process changed it.

notify.py listens to PostgreSQL on one connection per process; hub.py turns what it hears (and the
end of a period) into fresh statuses for the subscribers of this process; tokens.py re-checks the
tokens of open connections; socket.py is the graphql-transport-ws endpoint.
"""
