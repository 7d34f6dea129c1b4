package channels

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/httpx"
)

// Kinds of machine key.
const (
	KeyApp     = "app"     // the province's mobile app (and other apps)
	KeyKiosk   = "kiosk"   // a self-service terminal, with its home township
	KeyOpen311 = "open311" // an Open311 client's api_key
	KeyCTI     = "cti"     // a telephony installation (token in the URL)
)

// Key is a machine credential. Only the SHA-256 of its secret is stored.
type Key struct {
	ID           uuid.UUID  `json:"id"`
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	TownshipCode string     `json:"township_code,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// Keys manages machine keys.
type Keys struct {
	DB *pgxpool.Pool

	mu    sync.Mutex
	cache map[[32]byte]cachedKey
}

type cachedKey struct {
	key Key
	at  time.Time
}

// keyCacheTTL bounds how long a revoked key may still be accepted by a
// node that verified it just before.
const keyCacheTTL = 5 * time.Second

// ErrNoKey is a missing, wrong or revoked key.
var ErrNoKey = errors.New("channels: unknown or revoked key")

func hashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// Create makes a key and returns its secret, shown this once.
func (k *Keys) Create(ctx context.Context, kind, name, township string) (Key, string, error) {
	switch kind {
	case KeyApp, KeyKiosk, KeyOpen311, KeyCTI:
	default:
		return Key{}, "", fmt.Errorf("kind must be app, kiosk, open311 or cti")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Key{}, "", fmt.Errorf("a name of 1 to 100 characters is required")
	}
	if kind == KeyKiosk && township == "" {
		return Key{}, "", fmt.Errorf("a kiosk needs its home township (--township CODE)")
	}
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return Key{}, "", err
	}
	secret := "yk_" + kind + "_" + base64.RawURLEncoding.EncodeToString(b)
	h := hashSecret(secret)
	id, _ := uuid.NewV7()
	var key Key
	err := k.DB.QueryRow(ctx, `INSERT INTO api_keys (id, name, kind, township_code, secret_hash) VALUES ($1,$2,$3,$4,$5)
		RETURNING id, name, kind, township_code, created_at`, id, name, kind, township, h[:]).
		Scan(&key.ID, &key.Name, &key.Kind, &key.TownshipCode, &key.CreatedAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return Key{}, "", fmt.Errorf("a key named %q exists", name)
	}
	return key, secret, err
}

// List returns every key, newest first.
func (k *Keys) List(ctx context.Context) ([]Key, error) {
	rows, err := k.DB.Query(ctx, `SELECT id, name, kind, township_code, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) {
		var key Key
		err := r.Scan(&key.ID, &key.Name, &key.Kind, &key.TownshipCode, &key.CreatedAt, &key.RevokedAt, &key.LastUsedAt)
		return key, err
	})
}

// Revoke ends a key.
func (k *Keys) Revoke(ctx context.Context, name string) error {
	tag, err := k.DB.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("no active key named %q", name)
	}
	k.mu.Lock()
	k.cache = nil
	k.mu.Unlock()
	return nil
}

// Verify returns the key of a secret, of the given kind.
func (k *Keys) Verify(ctx context.Context, secret, kind string) (Key, error) {
	if secret == "" || len(secret) > 200 {
		return Key{}, ErrNoKey
	}
	h := hashSecret(secret)
	k.mu.Lock()
	if c, ok := k.cache[h]; ok && time.Since(c.at) < keyCacheTTL {
		k.mu.Unlock()
		if c.key.Kind != kind {
			return Key{}, ErrNoKey
		}
		return c.key, nil
	}
	k.mu.Unlock()
	var key Key
	err := k.DB.QueryRow(ctx, `UPDATE api_keys SET last_used_at = now() WHERE secret_hash = $1 AND revoked_at IS NULL
		RETURNING id, name, kind, township_code, created_at`, h[:]).Scan(&key.ID, &key.Name, &key.Kind, &key.TownshipCode, &key.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrNoKey
	}
	if err != nil {
		return Key{}, err
	}
	k.mu.Lock()
	if k.cache == nil || len(k.cache) > 10000 {
		k.cache = map[[32]byte]cachedKey{}
	}
	k.cache[h] = cachedKey{key: key, at: time.Now()}
	k.mu.Unlock()
	if key.Kind != kind {
		return Key{}, ErrNoKey
	}
	return key, nil
}

// Forbidden answers a missing or wrong key.
func Forbidden(w http.ResponseWriter) {
	httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "api_key", Rule: "key", MessageZH: "接入密钥无效或已吊销", MessageEN: "invalid or revoked key"})
}

type keyCtx struct{}

// WithKey returns ctx carrying the verified key.
func WithKey(ctx context.Context, k Key) context.Context { return context.WithValue(ctx, keyCtx{}, k) }

// KeyFrom returns the verified key of a request.
func KeyFrom(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(keyCtx{}).(Key)
	return k, ok
}

// BearerKey returns the key of the Authorization: Bearer header (or
// X-Api-Key).
func BearerKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	return r.Header.Get("X-Api-Key")
}
