import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { builder } from "../builder.ts";

builder.addScalarType("JSON", JSONResolver, {
  description: "Any JSON value: metadata, filters and other free-form upstream objects.",
});

builder.addScalarType("DateTime", DateTimeResolver, {
  description: "A date-time string in ISO 8601 (UTC), e.g. `2026-11-27T10:00:00.000Z`.",
});
