-- Knowledge base (package knowledge): articles and their versions, the
-- search side table of the PostgreSQL index with its term statistics, the
-- outbox that keeps an external index (Meilisearch) in sync, which article
-- version answered which case, and the searches that found nothing.

-- pg_trgm (Debian's postgresql contrib) finds articles with a similar title
-- (the duplicate check of editors).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per article: its id (the external id of an import, or kb-<uuid>),
-- the owning unit, and which version is live in search.
CREATE TABLE kb_articles (
    id             text PRIMARY KEY,
    owner_unit     text NOT NULL DEFAULT '',      -- units.id of the unit that edits it ('' = the hotline centre)
    latest_version integer NOT NULL,
    live_version   integer,                        -- the published version; NULL: not in search
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX kb_articles_owner ON kb_articles (owner_unit);

-- Every version is kept. Status: draft → review → published (→ superseded
-- by a newer published version) → archived.
CREATE TABLE kb_versions (
    article_id     text NOT NULL REFERENCES kb_articles(id),
    version        integer NOT NULL CHECK (version > 0),
    status         text NOT NULL CHECK (status IN ('draft','review','published','superseded','archived')),
    type           text NOT NULL CHECK (type IN ('qa','guide')),
    title          text NOT NULL,
    question       text NOT NULL DEFAULT '',
    answer         text NOT NULL DEFAULT '',
    basis          text NOT NULL DEFAULT '',      -- policy basis of a Q&A
    guide          jsonb,                          -- the 八统一 fields of a guide
    categories     text[] NOT NULL DEFAULT '{}',
    region         text NOT NULL DEFAULT '33',
    visibility     text NOT NULL CHECK (visibility IN ('public','internal')),
    tags           text[] NOT NULL DEFAULT '{}',
    synonyms       text[] NOT NULL DEFAULT '{}',
    effective_from date,
    expires_on     date,                           -- first day no longer in force
    author_id      uuid,
    author_name    text NOT NULL DEFAULT '',
    note           text NOT NULL DEFAULT '',      -- review remark
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    published_at   timestamptz,
    published_by   text NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, version)
);
CREATE UNIQUE INDEX kb_versions_one_published ON kb_versions (article_id) WHERE status = 'published';
CREATE INDEX kb_versions_review ON kb_versions (status, updated_at) WHERE status IN ('draft','review');

-- The PostgreSQL index: one narrow row per published article. terms is a
-- tsvector of our own terms (character bigrams, Latin words) whose
-- positions say the field: title 1–127, question 128–1023, tags and
-- synonyms 1024–2047, body 2048–16383 (so term frequency per field can be
-- read back for BM25F); the positions of the first three (the head) carry
-- weight B, and kb_search_head indexes the head's terms alone. Filters are
-- plain columns; the row stays narrow so that the first, cheap ranking
-- reads few pages.
CREATE TABLE kb_search (
    article_id  text PRIMARY KEY REFERENCES kb_articles(id),
    version     integer NOT NULL,
    visibility  text NOT NULL,
    region      text NOT NULL,
    categories  text[] NOT NULL,                  -- codes and their two-digit groups
    valid_from  date NOT NULL DEFAULT '-infinity',
    valid_until date NOT NULL DEFAULT 'infinity', -- exclusive
    title_key   text NOT NULL,                    -- the title in pg_trgm-friendly ASCII (see knowledge.TitleKey)
    lens        integer[] NOT NULL,               -- terms per field: title, question, keywords, body
    terms       tsvector NOT NULL                 -- large: out of the row (TOAST), read for the few best candidates only
);
CREATE INDEX kb_search_terms ON kb_search USING gin (terms);
CREATE INDEX kb_search_head ON kb_search USING gin (ts_filter(terms, '{b}'));
CREATE INDEX kb_search_title ON kb_search USING gin (title_key gin_trgm_ops);

-- Document frequency of every term in kb_search, and the corpus totals
-- (number of documents, summed field lengths) that BM25 needs.
CREATE TABLE kb_terms (
    term text PRIMARY KEY,
    df   integer NOT NULL
);
CREATE TABLE kb_corpus (
    id   integer PRIMARY KEY CHECK (id = 1),
    docs integer NOT NULL,
    lens bigint[] NOT NULL
);
INSERT INTO kb_corpus VALUES (1, 0, '{0,0,0,0}');

-- Article changes for external indexes, in commit order; each consumer
-- keeps its cursor, so a restart or an outage of the index loses nothing.
CREATE TABLE kb_outbox (
    id         bigserial PRIMARY KEY,
    article_id text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE kb_sync (
    consumer   text PRIMARY KEY,
    last_id    bigint NOT NULL,
    synced_at  timestamptz NOT NULL
);

-- Which article version answered which case.
CREATE TABLE kb_uses (
    id         bigserial PRIMARY KEY,
    case_id    uuid NOT NULL,
    article_id text NOT NULL,
    version    integer NOT NULL,
    actor_id   uuid,
    at         timestamptz NOT NULL,
    FOREIGN KEY (article_id, version) REFERENCES kb_versions (article_id, version),
    UNIQUE (case_id, article_id, version)
);
CREATE INDEX kb_uses_article ON kb_uses (article_id, at);

-- Searches that found nothing: the gaps of the knowledge base.
CREATE TABLE kb_misses (
    id    bigserial PRIMARY KEY,
    query text NOT NULL,
    role  text NOT NULL,
    at    timestamptz NOT NULL
);
CREATE INDEX kb_misses_at ON kb_misses (at);
