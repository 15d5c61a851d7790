"""Token verification for the WebSocket handshake."""

from chat.auth.tokens import Identity, InvalidHandshake, TokenVerifier, verify_handshake

__all__ = ["Identity", "InvalidHandshake", "TokenVerifier", "verify_handshake"]
