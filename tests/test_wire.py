"""Replies sent the short way (bot/transport/wire.py) reach the chat exactly as
python-telegram-bot's own send_message and edit_message_text would send them."""

from __future__ import annotations

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
)
from telegram.error import Forbidden
from telegram.ext import Defaults, ExtBot

from bot.emulator import BotApiEmulator, EmulatorRequest, Fault
from bot.transport import wire


@pytest.fixture
async def chat():
    emulator = BotApiEmulator()
    user = emulator.add_user("Amina", "ar")
    bot = ExtBot(emulator.token, request=EmulatorRequest(emulator),
                 defaults=Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
    async with bot:
        yield emulator, bot, user["id"]


def _menu(*labels: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(label) for label in labels]],
                               resize_keyboard=True, is_persistent=True)


async def test_a_reply_arrives_as_send_message_would_send_it(chat):
    emulator, bot, chat_id = chat
    menu = _menu("📋 Min plan", "✅ Checka in")
    await bot.send_message(chat_id, "ett", reply_markup=menu)
    answer = await wire.send_text(bot, chat_id, "två", menu)
    by_ptb, by_wire = [call.params for call in emulator.calls if call.method == "sendMessage"]
    assert by_wire == {**by_ptb, "text": "två"}
    assert by_wire["link_preview_options"] == {"is_disabled": True}
    [_, sent] = emulator.bot_messages(chat_id)
    assert sent["text"] == "två" and answer["message_id"] == sent["message_id"]


async def test_each_keyboard_is_sent_as_itself_however_often_menus_repeat(chat):
    emulator, bot, chat_id = chat
    for labels in (("A", "B"), ("C",), ("A", "B")):
        menu = _menu(*labels)
        await wire.send_text(bot, chat_id, "x", menu)
        await wire.send_text(bot, chat_id, "y", menu)  # the same object, encoded once
    keyboards = [[button["text"] for button in call.params["reply_markup"]["keyboard"][0]]
                 for call in emulator.calls if call.method == "sendMessage"]
    assert keyboards == [["A", "B"], ["A", "B"], ["C"], ["C"], ["A", "B"], ["A", "B"]]


async def test_an_edit_replaces_the_text_and_the_buttons(chat):
    emulator, bot, chat_id = chat
    first = await wire.send_text(bot, chat_id, "Kommer du?", InlineKeyboardMarkup(
        [[InlineKeyboardButton("Ja", callback_data="rm:y:1")]]))
    await wire.edit_text(bot, chat_id, first["message_id"], "Tack!",
                         InlineKeyboardMarkup([[InlineKeyboardButton("Ångra",
                                                                     callback_data="rm:u:1")]]))
    [message] = emulator.bot_messages(chat_id)
    assert message["text"] == "Tack!"
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rm:u:1"


async def test_telegrams_refusal_is_the_same_error(chat):
    emulator, bot, chat_id = chat
    emulator.faults.append(Fault("403", "sendMessage"))
    with pytest.raises(Forbidden):
        await wire.send_text(bot, chat_id, "hej")
    assert emulator.bot_messages(chat_id) == []
