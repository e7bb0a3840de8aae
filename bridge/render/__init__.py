"""Pure rendering for WhatsApp: Typebot rich text/markdown, Chatwoot markdown, choice menus."""

from __future__ import annotations

from bridge.render.choices import (
    ChoiceItem,
    build_buttons_payload,
    build_list_payload,
    fold_label,
    match_choice,
    menu_items,
    render_choice_menu,
)
from bridge.render.markdown import render_markdown
from bridge.render.richtext import render_rich_text
from bridge.render.typebot_reply import (
    TypebotBubble,
    WhatsAppChoicePrompt,
    WhatsAppMedia,
    WhatsAppOutgoing,
    WhatsAppText,
    bubble_from_message,
    choice_items_from_input,
    render_bubble_text,
    render_typebot_reply,
)

__all__ = [
    "ChoiceItem",
    "TypebotBubble",
    "WhatsAppChoicePrompt",
    "WhatsAppMedia",
    "WhatsAppOutgoing",
    "WhatsAppText",
    "bubble_from_message",
    "build_buttons_payload",
    "build_list_payload",
    "choice_items_from_input",
    "fold_label",
    "match_choice",
    "menu_items",
    "render_bubble_text",
    "render_choice_menu",
    "render_markdown",
    "render_rich_text",
    "render_typebot_reply",
]
