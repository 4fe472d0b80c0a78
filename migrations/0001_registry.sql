-- Adapter registry (D1). Blobs live in R2 under content-addressed keys; these tables hold what
-- must be strongly consistent: which versions exist, and which adapter serves each domain.

-- One row per adapter name: the last version ever handed out, so versions are never reused after
-- a delete and concurrent uploads of one name get consecutive numbers (see register()).
CREATE TABLE adapter_names (
  name TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL
);

CREATE TABLE adapters (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  base_model_hash TEXT NOT NULL,
  rank INTEGER NOT NULL,
  alpha REAL NOT NULL,
  targets TEXT NOT NULL,          -- JSON array of projections, e.g. ["q_proj","v_proj"]
  dtype TEXT NOT NULL,            -- F32 | F16 | BF16 | mixed
  dora INTEGER NOT NULL,
  bytes INTEGER NOT NULL,         -- adapter_config.json + adapter_model.safetensors
  sha256 TEXT NOT NULL,           -- of adapter_model.safetensors (R2 key peft/<sha256>)
  config_sha256 TEXT NOT NULL,    -- of adapter_config.json (R2 key peft/<config_sha256>)
  prepared_sha256 TEXT NOT NULL,  -- of the runtime form (R2 key prepared/<prepared_sha256>)
  prepared_bytes INTEGER NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (name, version)
);

-- domain → adapter@version. Examples (JSON array) teach the router a domain it was not trained
-- on; `seq` orders those registrations so every isolate replays them identically.
CREATE TABLE domains (
  domain TEXT PRIMARY KEY,
  adapter TEXT NOT NULL,
  version INTEGER NOT NULL,
  threshold REAL,
  examples TEXT,
  examples_sha256 TEXT,
  seq INTEGER NOT NULL,
  updated TEXT NOT NULL
);
CREATE INDEX domains_adapter ON domains (adapter, version);
