import { describe, expect, it } from "vitest";
import { authHeaders, type Credentials } from "../../src/upstream/auth.ts";
import { InvalidCredentialsError } from "../../src/upstream/errors.ts";

const SECRET = "s3cr3t-Token_value";

describe("authHeaders", () => {
  it("sends an API token as a bearer token", () => {
    expect(authHeaders({ kind: "token", token: SECRET })).toEqual({
      authorization: `Bearer ${SECRET}`,
    });
  });

  it("sends the legacy email + global key pair", () => {
    expect(
      authHeaders({
        kind: "key",
        email: "ops@example.com",
        key: "c2547eb745079dac9320b638f5e225cf483cc5cfdda41",
      }),
    ).toEqual({
      "x-auth-email": "ops@example.com",
      "x-auth-key": "c2547eb745079dac9320b638f5e225cf483cc5cfdda41",
    });
  });

  it("reports missing credentials distinctly", () => {
    const error = (() => {
      try {
        authHeaders(undefined);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect((error as InvalidCredentialsError).field).toBe("missing");
  });

  const hostile: [string, unknown, string][] = [
    ["empty token", { kind: "token", token: "" }, "token"],
    ["CRLF in token", { kind: "token", token: `${SECRET}\r\nx-evil: 1` }, "token"],
    ["LF in token", { kind: "token", token: `${SECRET}\n` }, "token"],
    ["space in token", { kind: "token", token: `${SECRET} extra` }, "token"],
    ["tab in token", { kind: "token", token: `\t${SECRET}` }, "token"],
    ["NUL in token", { kind: "token", token: `${SECRET}\u0000` }, "token"],
    ["DEL in token", { kind: "token", token: `${SECRET}\u007f` }, "token"],
    ["comma (two values)", { kind: "token", token: `${SECRET},${SECRET}` }, "token"],
    ["non-ASCII token", { kind: "token", token: `${SECRET}é` }, "token"],
    ["array token", { kind: "token", token: [SECRET, SECRET] }, "token"],
    ["number token", { kind: "token", token: 42 }, "token"],
    ["oversized token", { kind: "token", token: SECRET.repeat(100) }, "token"],
    ["empty key", { kind: "key", email: "a@b.c", key: "" }, "key"],
    ["CR in key", { kind: "key", email: "a@b.c", key: `${SECRET}\r` }, "key"],
    ["email without @", { kind: "key", email: "nobody", key: SECRET }, "email"],
    ["email with LF", { kind: "key", email: `a@b.c\nx: ${SECRET}`, key: SECRET }, "email"],
    ["email with comma", { kind: "key", email: "a@b.c,d@e.f", key: SECRET }, "email"],
    ["unknown kind", { kind: "basic", token: SECRET }, "kind"],
    ["not an object", SECRET, "kind"],
  ];

  it.each(hostile)("rejects %s without echoing the value", (_label, credentials, field) => {
    let caught: unknown;
    try {
      authHeaders(credentials as Credentials);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCredentialsError);
    const error = caught as InvalidCredentialsError;
    expect(error.code).toBe("INVALID_CREDENTIALS");
    expect(error.field).toBe(field);
    const rendered = `${error.message} ${String(error)} ${error.stack} ${JSON.stringify(error)}`;
    expect(rendered).not.toContain(SECRET);
    expect(error.cause).toBeUndefined();
  });
});

describe("Transport.caller", () => {
  it("checks the client's own credentials once, and each binding still carries them", async () => {
    const { Transport } = await import("../../src/upstream/transport.ts");
    const transport = new Transport({
      accountId: "acct",
      credentials: { kind: "token", token: SECRET },
    } as ConstructorParameters<typeof Transport>[0]);
    const first = transport.caller({ requestId: "one" });
    const second = transport.caller({ requestId: "two" });
    expect(first.auth).toEqual({ authorization: `Bearer ${SECRET}` });
    expect(second.auth).toBe(first.auth);
    expect(second.credentialsKey).toBe(first.credentialsKey);
    expect([first.requestId, second.requestId]).toEqual(["one", "two"]);
    // A binding's own credentials are its own, with their own coalescing key.
    const other = transport.caller({ credentials: { kind: "token", token: `${SECRET}-2` } });
    expect(other.auth).toEqual({ authorization: `Bearer ${SECRET}-2` });
    expect(other.credentialsKey).not.toBe(first.credentialsKey);
    await transport.close();
  });

  it("fails every binding of a client with bad credentials, each with the error", async () => {
    const { Transport } = await import("../../src/upstream/transport.ts");
    const transport = new Transport({
      accountId: "acct",
      credentials: { kind: "token", token: "" },
    } as ConstructorParameters<typeof Transport>[0]);
    for (const requestId of ["one", "two"]) {
      const caller = transport.caller({ requestId });
      expect(caller.refusal).toBeInstanceOf(InvalidCredentialsError);
      expect((caller.refusal as InvalidCredentialsError).field).toBe("token");
    }
    await transport.close();
  });
});
