package knowledge

import (
	"bytes"
	"context"
	"embed"
	"io/fs"
	"sort"

	"yici/internal/auth"
)

// seedFS holds the demo knowledge base: hand-written Zhejiang articles
// (seed/articles-*.jsonl, in the import format) and the synonym groups of
// Zhejiang service language (seed/synonyms.txt).
//
//go:embed seed/*.jsonl seed/synonyms.txt
var seedFS embed.FS

// SeedSynonyms returns the embedded synonym groups.
func SeedSynonyms() (*Synonyms, error) {
	b, err := seedFS.ReadFile("seed/synonyms.txt")
	if err != nil {
		return nil, err
	}
	return ParseSynonyms(bytes.NewReader(b))
}

// SeedArticles returns the embedded seed articles as one JSON lines stream.
func SeedArticles() ([]byte, error) {
	names, err := fs.Glob(seedFS, "seed/*.jsonl")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var all bytes.Buffer
	for _, n := range names {
		b, err := seedFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		all.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			all.WriteByte('\n')
		}
	}
	return all.Bytes(), nil
}

// LoadSeed loads the embedded demo articles, published, into a knowledge
// base that has no article yet, and returns how many it loaded (0 when
// the knowledge base already had articles).
func (s *Store) LoadSeed(ctx context.Context) (int, error) {
	var any bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_articles)`).Scan(&any); err != nil {
		return 0, err
	}
	if any {
		return 0, nil
	}
	b, err := SeedArticles()
	if err != nil {
		return 0, err
	}
	rep, err := s.Import(ctx, auth.SystemActor("知识库种子数据"), bytes.NewReader(b), "")
	return rep.Created, err
}
