import { GraphQLError } from "graphql";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { builder } from "../builder.ts";
import { blobUpload, isUploadedFile } from "../uploads/file.ts";

builder.addScalarType("JSON", JSONResolver, {
  description: "Any JSON value: metadata, filters and other free-form upstream objects.",
});

builder.addScalarType("DateTime", DateTimeResolver, {
  description: "A date-time string in ISO 8601 (UTC), e.g. `2026-11-27T10:00:00.000Z`.",
});

builder.scalarType("File", {
  description:
    "A file sent with the GraphQL multipart request spec (`operations`, `map`, then the file parts). Input only.",
  serialize: () => {
    throw new TypeError("File is an input-only scalar");
  },
  parseValue: (value) => {
    if (isUploadedFile(value)) return value;
    // In process (`yoga.fetch` with a Blob variable); HTTP clients send multipart.
    if (value instanceof Blob) return blobUpload(value);
    throw new GraphQLError("a File must be sent as a part of a multipart request");
  },
  parseLiteral: () => {
    throw new GraphQLError("a File must be sent as a variable of a multipart request");
  },
});
