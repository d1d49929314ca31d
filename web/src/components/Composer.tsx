import { useRef } from "preact/hooks";

/** The question box: Enter sends, Shift+Enter starts a new line, Escape stops an answer. */
export function Composer(props: {
  value: string;
  onInput: (value: string) => void;
  onSend: () => void;
  onStop: () => void;
  streaming: boolean;
  disabledReason: string | undefined;
}) {
  const { value, onInput, onSend, onStop, streaming, disabledReason } = props;
  const box = useRef<HTMLTextAreaElement>(null);
  const canSend = !streaming && !disabledReason && value.trim() !== "";
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        if (canSend) onSend();
      }}
    >
      <label for="question" class="composer-label">
        Your question
      </label>
      <div class="composer-row">
        <textarea
          id="question"
          ref={box}
          rows={2}
          value={value}
          placeholder="Ask about the selected instances…"
          aria-describedby="composer-hint"
          onInput={(event) => onInput(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
              event.preventDefault();
              if (canSend) onSend();
            } else if (event.key === "Escape" && streaming) {
              onStop();
            }
          }}
        />
        {streaming ? (
          <button
            type="button"
            class="stop"
            onClick={() => {
              onStop();
              box.current?.focus();
            }}
          >
            Stop
          </button>
        ) : (
          <button type="submit" class="send" disabled={!canSend}>
            Send
          </button>
        )}
      </div>
      <p id="composer-hint" class="hint">
        {disabledReason ??
          (streaming
            ? "Writing the answer… Stop (or Escape) cancels it."
            : "Enter sends · Shift+Enter for a new line")}
      </p>
    </form>
  );
}
