import { builder } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import type { ChatMessage, ContentPart } from "../upstream/types.ts";
import { ChatRole } from "./enums.ts";

/** Generous, but stops a single request from shipping megabytes of prompt upstream. */
export const MAX_MESSAGES = 100;
export const MAX_MESSAGE_TEXT = 32_000;

const ContentPartType = builder.enumType("ContentPartType", {
  description: "The kind of a message content part.",
  values: {
    TEXT: { value: "text", description: "Plain text, in `text`." },
    IMAGE_URL: { value: "image_url", description: "An image by URL (or data URL), in `imageUrl`." },
    FILE: { value: "file", description: "An attached file, in `file`." },
  } as const,
});

const FileInput = builder.inputType("ChatFileInput", {
  description: "A file attached to a message: its contents inline or a previously uploaded id.",
  fields: (t) => ({
    filename: t.string({ required: true, description: "The file's name." }),
    fileData: t.string({ description: "The contents, base64 or a data URL." }),
    fileId: t.string({ description: "The id of an already uploaded file." }),
  }),
});

const ContentPartInput = builder.inputType("ChatContentPartInput", {
  description: "One part of a multi-part message. Set the field that matches `type`.",
  fields: (t) => ({
    type: t.field({ type: ContentPartType, required: true, description: "Which field is set." }),
    text: t.string({ description: "For TEXT parts." }),
    imageUrl: t.string({ description: "For IMAGE_URL parts." }),
    file: t.field({ type: FileInput, description: "For FILE parts." }),
  }),
});

export const ChatMessageInput = builder.inputType("ChatMessageInput", {
  description: "A message of the conversation. Give either `content` or `parts`.",
  fields: (t) => ({
    role: t.field({ type: ChatRole, required: true, description: "Who wrote it." }),
    content: t.string({ description: "The message as plain text." }),
    parts: t.field({
      type: [ContentPartInput],
      description: "The message as parts: text, images, files.",
    }),
  }),
});

type ChatMessageInputShape = typeof ChatMessageInput.$inferInput;
type ContentPartInputShape = typeof ContentPartInput.$inferInput;

function toContentPart(part: ContentPartInputShape, where: string): ContentPart {
  switch (part.type) {
    case "text":
      if (part.text == null) throw badUserInput(`${where}: a TEXT part needs \`text\``, where);
      return { type: "text", text: part.text };
    case "image_url":
      if (!part.imageUrl)
        throw badUserInput(`${where}: an IMAGE_URL part needs \`imageUrl\``, where);
      return { type: "image_url", image_url: { url: part.imageUrl } };
    case "file": {
      const file = part.file;
      if (!file || (!file.fileData && !file.fileId)) {
        throw badUserInput(
          `${where}: a FILE part needs \`file.fileData\` or \`file.fileId\``,
          where,
        );
      }
      return {
        type: "file",
        file: {
          filename: file.filename,
          ...(file.fileData ? { file_data: file.fileData } : {}),
          ...(file.fileId ? { file_id: file.fileId } : {}),
        },
      };
    }
  }
}

function textLength(message: ChatMessage): number {
  if (typeof message.content === "string") return message.content.length;
  if (!message.content) return 0;
  return message.content.reduce((n, p) => n + (p.type === "text" ? p.text.length : 0), 0);
}

/** Validates the conversation and converts it to wire form. */
export function toWireMessages(messages: readonly ChatMessageInputShape[]): ChatMessage[] {
  if (messages.length === 0) throw badUserInput("`messages` must not be empty", "messages");
  if (messages.length > MAX_MESSAGES) {
    throw badUserInput(`\`messages\` may hold at most ${MAX_MESSAGES} messages`, "messages");
  }
  const wire = messages.map((message, i): ChatMessage => {
    const where = `messages[${i}]`;
    const hasContent = message.content != null;
    const hasParts = message.parts != null;
    if (hasContent === hasParts) {
      throw badUserInput(`${where}: give exactly one of \`content\` or \`parts\``, where);
    }
    const content = hasParts
      ? message.parts!.map((part, j) => toContentPart(part, `${where}.parts[${j}]`))
      : message.content!;
    return { role: message.role, content };
  });
  const total = wire.reduce((n, m) => n + textLength(m), 0);
  if (total > MAX_MESSAGE_TEXT) {
    throw badUserInput(
      `the messages' text may be at most ${MAX_MESSAGE_TEXT} characters`,
      "messages",
    );
  }
  if (!wire.some((m) => m.role === "user" && textLength(m) > 0)) {
    throw badUserInput("`messages` needs at least one USER message with text", "messages");
  }
  return wire;
}

/** Joins a wire message's text parts; images and files have no text to show. */
export function messageText(content: ChatMessage["content"]): string | null {
  if (content == null || typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

export const ChatMessageRef = builder.objectRef<ChatMessage>("ChatMessage").implement({
  description: "A message of a conversation, e.g. the generated answer.",
  fields: (t) => ({
    role: t.field({
      type: ChatRole,
      nullable: true,
      description: "Who wrote it.",
      resolve: (m) =>
        (["system", "developer", "user", "assistant", "tool"] as const).find((r) => r === m.role) ??
        null,
    }),
    content: t.string({
      nullable: true,
      description: "The message text (text parts joined).",
      resolve: (m) => messageText(m.content),
    }),
  }),
});
