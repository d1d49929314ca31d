import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ChatPageNamespacesDocument } from "../../../operations/generated/graphql.ts";
import { type Asking, ask, refusal } from "../ask.ts";
import {
  applyToTurn,
  isStreaming,
  messagesFor,
  newTurn,
  type Turn,
  type TurnAction,
} from "../conversation.ts";
import { connectGateway, type Gateway, socketUrl } from "../gateway.ts";
import { Composer } from "./Composer.tsx";
import { type Catalog, type Namespace, SourcePicker } from "./SourcePicker.tsx";
import { TurnView } from "./TurnView.tsx";

const KEY_STORAGE = "aisearch-gateway.api-key";
/** How many namespaces, and instances in each, the picker offers. */
const PAGE_SIZES = { namespaces: 50, instances: 100 };

export function App() {
  const [apiKey, setApiKey] = useState(() => sessionStorage.getItem(KEY_STORAGE) ?? "");
  const [gateway, setGateway] = useState<Gateway>();
  const [catalog, setCatalog] = useState<Catalog>({ state: "loading" });
  const [namespace, setNamespace] = useState<string>();
  const [instanceIds, setInstanceIds] = useState<string[]>([]);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState("");
  const asking = useRef<Asking | undefined>(undefined);
  const nextId = useRef(1);
  const followAnswer = useRef(true);

  useEffect(() => {
    const next = connectGateway({ url: socketUrl(location), apiKey: apiKey || undefined });
    setGateway(next);
    return () => next.close();
  }, [apiKey]);

  const load = async (current: Gateway) => {
    setCatalog({ state: "loading" });
    const result = await current.client.query(ChatPageNamespacesDocument, PAGE_SIZES).toPromise();
    if (result.error || !result.data) {
      const action = result.error ? refusal(result.error) : undefined;
      setCatalog({
        state: "failed",
        message: action?.message ?? "the gateway sent no data.",
        needsKey: action?.type === "refused" && action.code === "UNAUTHENTICATED",
      });
      return;
    }
    const namespaces = result.data.namespaces.nodes;
    setCatalog({ state: "ready", namespaces });
    const first = namespaces.find((candidate) => candidate.name === "default") ?? namespaces[0];
    if (first) choose(first);
  };
  useEffect(() => {
    if (gateway) void load(gateway);
  }, [gateway]);

  const choose = (picked: Namespace) => {
    setNamespace(picked.name);
    setInstanceIds(picked.instances.nodes.map((instance) => instance.instanceId));
  };

  // Keep the newest text in view while it streams, unless the person scrolled up to read.
  useEffect(() => {
    const onScroll = () => {
      followAnswer.current =
        window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 80;
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => window.removeEventListener("scroll", onScroll);
  }, []);
  useLayoutEffect(() => {
    if (followAnswer.current) window.scrollTo(0, document.documentElement.scrollHeight);
  }, [turns]);

  const streaming = turns.some(isStreaming);
  const update = (id: number) => (action: TurnAction) =>
    setTurns((all) => all.map((turn) => (turn.id === id ? applyToTurn(turn, action) : turn)));

  const send = (question: string, where = { namespace, instanceIds }) => {
    if (!gateway || !where.namespace || streaming) return;
    const turn = newTurn(nextId.current++, question, where.namespace, where.instanceIds);
    const input = {
      namespace: where.namespace,
      instanceIds: [...where.instanceIds],
      messages: messagesFor(turns, question),
    };
    followAnswer.current = true;
    setTurns((all) => [...all, turn]);
    asking.current = ask(gateway, input, update(turn.id));
  };
  const stop = () => asking.current?.stop();

  const disabledReason =
    catalog.state !== "ready"
      ? "Waiting for the namespaces to load."
      : instanceIds.length === 0
        ? "Pick at least one instance to search."
        : undefined;
  const last = turns.at(-1);

  return (
    <div class="layout">
      <header class="masthead">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <div>
            <h1>Ask your content</h1>
            <p class="muted small">AI Search GraphQL gateway</p>
          </div>
        </div>
        <button
          type="button"
          class="secondary"
          disabled={turns.length === 0}
          onClick={() => {
            stop();
            setTurns([]);
          }}
        >
          New chat
        </button>
      </header>

      <aside class="picker" aria-label="What to search">
        <SourcePicker
          catalog={catalog}
          namespace={namespace}
          instanceIds={instanceIds}
          onNamespace={(name) => {
            if (catalog.state !== "ready") return;
            const picked = catalog.namespaces.find((candidate) => candidate.name === name);
            if (picked) choose(picked);
          }}
          onInstances={setInstanceIds}
          onReload={() => gateway && void load(gateway)}
        />
        {catalog.state === "failed" && catalog.needsKey ? (
          <KeyForm
            onKey={(key) => {
              sessionStorage.setItem(KEY_STORAGE, key);
              setApiKey(key);
            }}
          />
        ) : null}
      </aside>

      <main class="chat">
        {turns.length === 0 ? (
          <div class="empty">
            <h2>Ask a question</h2>
            <p class="muted">
              The answer streams in as it is written, with the passages it was grounded on.
              Follow-up questions keep the conversation.
            </p>
          </div>
        ) : (
          <ol class="turns" aria-label="Conversation">
            {turns.map((turn) => (
              <TurnView
                key={turn.id}
                turn={turn}
                onRetry={(failed) =>
                  send(failed.question, {
                    namespace: failed.namespace,
                    instanceIds: [...failed.instanceIds],
                  })
                }
              />
            ))}
          </ol>
        )}
        <p class="visually-hidden" role="status">
          {last ? announcement(last) : ""}
        </p>
        <Composer
          value={draft}
          onInput={setDraft}
          onSend={() => {
            send(draft.trim());
            setDraft("");
          }}
          onStop={stop}
          streaming={streaming}
          disabledReason={disabledReason}
        />
      </main>
    </div>
  );
}

function announcement(turn: Turn): string {
  switch (turn.status) {
    case "retrieving":
      return "Searching…";
    case "writing":
      return "Writing the answer…";
    case "done":
      return "Answer complete.";
    case "stopped":
      return "Answer stopped.";
    default:
      return turn.failure?.message ?? "";
  }
}

function KeyForm(props: { onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim()) props.onKey(key.trim());
      }}
    >
      <label for="api-key">API key for this gateway</label>
      <input
        id="api-key"
        type="password"
        autoComplete="off"
        value={key}
        onInput={(event) => setKey(event.currentTarget.value)}
      />
      <button type="submit">Connect</button>
      <p class="muted small">Kept in this tab only (session storage).</p>
    </form>
  );
}
