"""What a user id is: a token's subject (Cognito's `sub`), checked where one comes in (the authorizer,
the sign-up trigger). Apart from chat/auth/ so the sign-up function does not import the JWT library.
"""

# Cognito's are UUIDs; anything longer than this is refused.
MAX_USER_ID_LENGTH = 128


def is_valid_user_id(value: object) -> bool:
    """Whether `value` can be a user id (a token's subject): a string of 1-128 characters."""
    return isinstance(value, str) and 0 < len(value) <= MAX_USER_ID_LENGTH
