"""createGroup, addMembers, removeMembers, leaveGroup -> `group`."""

from chat.api import websocket_handler
from chat.groups import add_members, create_group, leave_group, remove_members

handler = websocket_handler(
    {"createGroup": create_group, "addMembers": add_members, "removeMembers": remove_members, "leaveGroup": leave_group}
)
