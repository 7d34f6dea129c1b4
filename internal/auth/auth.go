// Package auth knows who is calling: roles, staff accounts, passwords
// (argon2id), server-side sessions in PostgreSQL and the HTTP middleware
// that puts the Actor of a request into its context.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/argon2"
)

// Role is what a person or a machine may do.
type Role string

// The roles.
const (
	Citizen    Role = "citizen"    // anonymous member of the public
	Agent      Role = "agent"      // hotline agent (话务员)
	Dispatcher Role = "dispatcher" // hotline centre dispatcher (派单员)
	Supervisor Role = "supervisor" // supervisor (督办、统计)
	Officer    Role = "officer"    // officer of one handling unit
	Admin      Role = "admin"      // configuration: units, rules, keys, users
	Grid       Role = "grid"       // grid worker (网格员) reporting from patrol
	System     Role = "system"     // the product itself: channels, timers
)

// Label is the role's Chinese name.
func (r Role) Label() string {
	switch r {
	case Citizen:
		return "市民"
	case Agent:
		return "话务员"
	case Dispatcher:
		return "派单员"
	case Supervisor:
		return "督办员"
	case Officer:
		return "承办人员"
	case Admin:
		return "管理员"
	case Grid:
		return "网格员"
	case System:
		return "系统"
	}
	return string(r)
}

// Valid reports whether r is a known staff or system role.
func (r Role) Valid() bool {
	switch r {
	case Citizen, Agent, Dispatcher, Supervisor, Officer, Admin, Grid, System:
		return true
	}
	return false
}

// Actor is who does something: a signed-in person, a citizen, or the
// system (a channel, a timer).
type Actor struct {
	ID       uuid.UUID // zero for citizens and the system
	Username string
	Name     string
	Role     Role
	UnitID   string // the officer's unit; for centre staff their centre, if any
}

// IsCentre reports whether the actor works at the hotline centre.
func (a Actor) IsCentre() bool {
	return a.Role == Agent || a.Role == Dispatcher || a.Role == Supervisor
}

// SystemActor is the product acting on its own (channel name or job).
func SystemActor(name string) Actor { return Actor{Name: name, Role: System} }

// CitizenActor is a member of the public.
func CitizenActor() Actor { return Actor{Name: "市民", Role: Citizen} }

type ctxKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// FromContext returns the actor of ctx; ok is false for anonymous requests.
func FromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(ctxKey{}).(Actor)
	return a, ok
}

// Errors.
var (
	ErrBadLogin   = errors.New("auth: wrong username or password")
	ErrNoSession  = errors.New("auth: no valid session")
	ErrUserExists = errors.New("auth: username taken")
)

// Argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// User is a staff account.
type User struct {
	ID          uuid.UUID
	Username    string
	DisplayName string
	Role        Role
	UnitID      string
	Active      bool
}

// Actor returns the user as an actor.
func (u User) Actor() Actor {
	return Actor{ID: u.ID, Username: u.Username, Name: u.DisplayName, Role: u.Role, UnitID: u.UnitID}
}

// Store keeps users and sessions.
type Store struct {
	db         *pgxpool.Pool
	SessionTTL time.Duration
	now        func() time.Time
	dummyHash  string
}

// NewStore returns a store on db.
func NewStore(db *pgxpool.Pool) *Store {
	h, _ := HashPassword("timing-equaliser")
	return &Store{db: db, SessionTTL: 12 * time.Hour, now: time.Now, dummyHash: h}
}

// NewUser describes an account to create.
type NewUser struct {
	Username, DisplayName, Password string
	Role                            Role
	UnitID                          string
}

// CreateUser creates an account.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (User, error) {
	if n.Username == "" || n.Password == "" || !n.Role.Valid() || n.Role == Citizen || n.Role == System {
		return User{}, fmt.Errorf("auth: username, password and a staff role are required")
	}
	if n.Role == Officer && n.UnitID == "" {
		return User{}, fmt.Errorf("auth: an officer belongs to a unit")
	}
	h, err := HashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	id, _ := uuid.NewV7()
	var unit *string
	if n.UnitID != "" {
		unit = &n.UnitID
	}
	_, err = s.db.Exec(ctx, `INSERT INTO users (id, username, display_name, role, unit_id, password_hash) VALUES ($1,$2,$3,$4,$5,$6)`,
		id, n.Username, n.DisplayName, string(n.Role), unit, h)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return User{}, ErrUserExists
	}
	if err != nil {
		return User{}, err
	}
	return User{ID: id, Username: n.Username, DisplayName: n.DisplayName, Role: n.Role, UnitID: n.UnitID, Active: true}, nil
}

// UserByName returns the account with that username.
func (s *Store) UserByName(ctx context.Context, username string) (User, string, error) {
	var u User
	var role string
	var unit *string
	var hash string
	err := s.db.QueryRow(ctx, `SELECT id, username, display_name, role, unit_id, active, password_hash FROM users WHERE username = $1`, username).
		Scan(&u.ID, &u.Username, &u.DisplayName, &role, &unit, &u.Active, &hash)
	if err != nil {
		return User{}, "", err
	}
	u.Role = Role(role)
	if unit != nil {
		u.UnitID = *unit
	}
	return u, hash, nil
}

// Session is a signed-in browser.
type Session struct {
	Token   string // the cookie value; only the hash is stored
	CSRF    string
	Actor   Actor
	Expires time.Time
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// Login checks the password and opens a session.
func (s *Store) Login(ctx context.Context, username, password string) (Session, error) {
	u, hash, err := s.UserByName(ctx, username)
	if errors.Is(err, pgx.ErrNoRows) {
		CheckPassword(s.dummyHash, password) // same time as a wrong password
		return Session{}, ErrBadLogin
	}
	if err != nil {
		return Session{}, err
	}
	if !CheckPassword(hash, password) || !u.Active {
		return Session{}, ErrBadLogin
	}
	sess := Session{Token: randomToken(32), CSRF: randomToken(24), Actor: u.Actor(), Expires: s.now().Add(s.SessionTTL)}
	_, err = s.db.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1,$2,$3,$4)`,
		tokenHash(sess.Token), u.ID, sess.CSRF, sess.Expires)
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Lookup returns the session of a cookie value.
func (s *Store) Lookup(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	var sess Session
	var u User
	var role string
	var unit *string
	err := s.db.QueryRow(ctx, `SELECT s.csrf, s.expires_at, u.id, u.username, u.display_name, u.role, u.unit_id
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active`, tokenHash(token), s.now()).
		Scan(&sess.CSRF, &sess.Expires, &u.ID, &u.Username, &u.DisplayName, &role, &unit)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	u.Role = Role(role)
	if unit != nil {
		u.UnitID = *unit
	}
	sess.Token = token
	sess.Actor = u.Actor()
	return sess, nil
}

// Logout ends a session.
func (s *Store) Logout(ctx context.Context, token string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash(token))
	return err
}

// PurgeExpired removes ended sessions.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.now())
	return tag.RowsAffected(), err
}
