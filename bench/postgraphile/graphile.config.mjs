// PostGraphile v5 over gridgov's tables, for the side-by-side benchmark (bench/src/bin/suite.rs
// copies this file next to the PostGraphile it installs in the scratch folder and starts it).
// Production-ish: the amber preset, no GraphiQL, no watch mode, no explain; relations come from
// the foreign keys of the migrations (PgRelationsPlugin is part of amber).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PGL_POOL ?? 16) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PGL_PORT ?? 5678),
    graphqlPath: "/graphql",
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
