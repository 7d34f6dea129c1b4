// Package knowledge is the hotline's knowledge base: policy Q&A and
// 八统一 service guides that let an agent answer a consultation at once.
//
// Articles (Store) have versions and a lifecycle: the owning unit (or the
// centre) writes a draft, submits it, the centre publishes or rejects it,
// and archives it; publishing a new version supersedes the old one, and
// every version is kept. Import and Export read and write JSON lines
// (Record), keeping external ids; LoadSeed loads the embedded Zhejiang demo
// articles (seed/) into an empty base. RecordUse notes which article
// version answered which case; searches that find nothing are logged, and
// Stats shows both.
//
// Search goes through one Index interface with two backends:
//
//   - PGIndex (default): overlapping character bigrams in a tsvector (GIN),
//     whose positions encode the field (title, question, keywords, body).
//     A query is cleaned (fillers out), split into bigrams, its place names
//     taken as the asker's place, its words expanded with synonyms
//     (seed/synonyms.txt). A cheap first ranking sums, per document, the
//     weights of the query's rarest terms (one GIN scan each, reading no
//     term vector; stop terms left out) and keeps the best Cap; their term vectors then give per-field frequencies for
//     BM25F, the region boost and the relevance floor. pg_trgm over an
//     ASCII spelling of titles (TitleKey) finds similar titles for editors.
//   - MeiliIndex (when MEILI_URL is set): a Meilisearch index kept in sync
//     from the kb_outbox table, with the same filters, synonyms and
//     highlights; PostgreSQL answers while Meilisearch is down.
//
// Every backend passes the same conformance suite (conformance_test.go).
package knowledge
