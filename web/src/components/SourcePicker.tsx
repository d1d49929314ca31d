import type { ChatPageNamespacesQuery } from "../../../operations/generated/graphql.ts";

export type Namespace = ChatPageNamespacesQuery["namespaces"]["nodes"][number];

export type Catalog =
  | { state: "loading" }
  | { state: "failed"; message: string; needsKey: boolean }
  | { state: "ready"; namespaces: readonly Namespace[] };

/** Which namespace to ask, and which of its instances to search. */
export function SourcePicker(props: {
  catalog: Catalog;
  namespace: string | undefined;
  instanceIds: readonly string[];
  onNamespace: (name: string) => void;
  onInstances: (ids: string[]) => void;
  onReload: () => void;
}) {
  const { catalog, namespace, instanceIds, onNamespace, onInstances, onReload } = props;
  if (catalog.state === "loading") {
    return (
      <p class="progress" role="status">
        <span class="spinner" aria-hidden="true" />
        Loading namespaces…
      </p>
    );
  }
  if (catalog.state === "failed") {
    return (
      <div class="alert" role="alert">
        <p>Could not load the namespaces: {catalog.message}</p>
        {catalog.needsKey ? null : (
          <button type="button" class="secondary" onClick={onReload}>
            Try again
          </button>
        )}
      </div>
    );
  }
  if (catalog.namespaces.length === 0) return <p class="muted">This gateway has no namespaces.</p>;
  const current = catalog.namespaces.find((candidate) => candidate.name === namespace);
  const toggle = (id: string, on: boolean) =>
    onInstances(
      (current?.instances.nodes ?? [])
        .map((instance) => instance.instanceId)
        .filter((candidate) => (candidate === id ? on : instanceIds.includes(candidate))),
    );
  return (
    <>
      <div class="field">
        <label for="namespace">Namespace</label>
        <select
          id="namespace"
          value={namespace}
          onChange={(event) => onNamespace(event.currentTarget.value)}
        >
          {catalog.namespaces.map((candidate) => (
            <option key={candidate.id} value={candidate.name}>
              {candidate.name}
            </option>
          ))}
        </select>
        {current?.description ? <p class="muted small">{current.description}</p> : null}
      </div>
      <fieldset class="instances">
        <legend>Instances</legend>
        {current && current.instances.nodes.length === 0 ? (
          <p class="muted small">No instances in this namespace.</p>
        ) : null}
        {current?.instances.nodes.map((instance) => (
          <label key={instance.id} class="instance">
            <input
              type="checkbox"
              name="instance"
              value={instance.instanceId}
              checked={instanceIds.includes(instance.instanceId)}
              onChange={(event) => toggle(instance.instanceId, event.currentTarget.checked)}
            />
            <span>{instance.instanceId}</span>
            {instance.status && instance.status !== "active" ? (
              <span class="badge">{instance.status}</span>
            ) : null}
          </label>
        ))}
      </fieldset>
    </>
  );
}
