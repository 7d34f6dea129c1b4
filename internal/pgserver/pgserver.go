// Package pgserver runs a private PostgreSQL cluster from the system's
// binaries, for `yici serve` when DATABASE_URL is unset and for tests.
//
// The cluster lives in a directory of its own (normally <data>/pg). When the
// process runs as root, the server runs as an unprivileged user ("postgres"
// when it exists, else "nobody"), because PostgreSQL refuses to run as root.
// The server listens on 127.0.0.1 on a free port only (no Unix socket), and
// password authentication (SCRAM) protects it from other local users.
//
// The postmaster is a direct child of this process with a parent-death
// signal, so it is shut down even when this process is killed: nothing is
// left behind.
package pgserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser.
const Superuser = "yici"

// ErrNoBinaries is returned when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("pgserver: PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin; install them with: apt-get install -y postgresql")

// Options configure a cluster.
type Options struct {
	// Dir is the parent directory: the cluster is Dir/pg, its password
	// Dir/pg.secret and its log Dir/pg.log.
	Dir string
	// Durable keeps fsync on. Tests turn it off for speed.
	Durable bool
	// Settings are extra server settings (name → value).
	Settings map[string]string
	// Port pins the port (0: a free one).
	Port   int
	Logger *slog.Logger
}

// Server is a running (or found running) cluster.
type Server struct {
	Port     int
	password string
	owned    bool
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	log      *slog.Logger
	pgdata   string
}

// FindBinDir returns the directory holding initdb and postgres: PATH first,
// then the newest /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// URL returns a connection string for database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.password, s.Port, db)
}

// Owned reports whether this process started the server (and stops it).
func (s *Server) Owned() bool { return s.owned }

// Start finds the cluster of opts.Dir running, or initialises it when new
// and starts it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secretFile := filepath.Join(dir, "pg.secret")
	pgdata, err := clusterDir(dir)
	if err != nil {
		return nil, err
	}
	// A cluster already running for this directory (say, under `yici serve`)?
	if s := findRunning(ctx, pgdata, secretFile); s != nil {
		s.log = log
		log.Info("using running PostgreSQL", "dir", pgdata, "port", s.Port)
		return s, nil
	}
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		if err := initCluster(bin, pgdata, secretFile, cred, log); err != nil {
			return nil, err
		}
	}
	pw, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("pgserver: reading cluster password: %w", err)
	}
	logFile := filepath.Join(dir, "pg.log")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		s := &Server{Port: port, password: strings.TrimSpace(string(pw)), owned: true, log: log, pgdata: pgdata}
		if err := s.launch(bin, pgdata, logFile, cred, opts); err != nil {
			return nil, err
		}
		if err := s.waitReady(ctx, 60*time.Second); err != nil {
			lastErr = err
			s.Stop()
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		log.Info("started PostgreSQL", "dir", pgdata, "port", port)
		return s, nil
	}
	return nil, fmt.Errorf("pgserver: could not start PostgreSQL (see %s): %w", logFile, lastErr)
}

// clusterDir returns where the cluster lives: dir/pg, or, when the process
// is root and the unprivileged server user cannot reach dir (say, under
// /root), a directory under /var/tmp that dir/pg links to.
func clusterDir(dir string) (string, error) {
	pgdata := filepath.Join(dir, "pg")
	if os.Geteuid() != 0 {
		return pgdata, nil
	}
	if target, err := os.Readlink(pgdata); err == nil {
		return target, nil
	}
	cred, err := serverCredential()
	if err != nil {
		return "", err
	}
	if reachable(dir, cred) {
		return pgdata, nil
	}
	h := fnv32(dir)
	alt := fmt.Sprintf("/var/tmp/yici-pg-%08x", h)
	if err := os.MkdirAll(alt, 0o700); err != nil {
		return "", err
	}
	if err := os.Chown(alt, int(cred.Uid), int(cred.Gid)); err != nil {
		return "", err
	}
	if _, err := os.Lstat(pgdata); errors.Is(err, os.ErrNotExist) {
		if err := os.Symlink(alt, pgdata); err != nil {
			return "", err
		}
	}
	return alt, nil
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// reachable reports whether every ancestor of dir can be searched by cred.
func reachable(dir string, cred *syscall.Credential) bool {
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return false
		}
		mode := st.Mode
		ok := mode&0o001 != 0 ||
			(st.Uid == cred.Uid && mode&0o100 != 0) ||
			(st.Gid == cred.Gid && mode&0o010 != 0)
		if !ok {
			return false
		}
		if d == "/" || d == "." {
			return true
		}
	}
}

// serverCredential is the user the server runs as: nil when not root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("pgserver: running as root, but neither user postgres nor nobody exists to run PostgreSQL as")
}

func chownTree(root string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

func initCluster(bin, pgdata, secretFile string, cred *syscall.Credential, log *slog.Logger) error {
	log.Info("initialising PostgreSQL cluster", "dir", pgdata)
	if err := os.MkdirAll(pgdata, 0o700); err != nil {
		return err
	}
	if err := chownTree(pgdata, cred); err != nil {
		return err
	}
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	secret := hex.EncodeToString(pw)
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	// initdb reads the password from a file the server user can read.
	pwdir, err := os.MkdirTemp("", "yici-initdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(pwdir)
	pwfile := filepath.Join(pwdir, "pw")
	if err := os.WriteFile(pwfile, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if err := chownTree(pwdir, cred); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"),
		"-D", pgdata, "-U", Superuser, "--pwfile="+pwfile,
		"--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgserver: initdb: %v\n%s", err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) launch(bin, pgdata, logFile string, cred *syscall.Credential, opts Options) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "",
		"max_connections":         "300",
		"shared_buffers":          "256MB",
		"max_wal_size":            "2GB",
		"timezone":                "UTC",
		"log_min_messages":        "warning",
		"log_timezone":            "UTC",
	}
	if !opts.Durable {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
		settings["shared_buffers"] = "64MB"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	args := []string{"-D", pgdata, "-p", strconv.Itoa(s.Port)}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = "/"
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Fast shutdown when this process dies, however it dies.
		Pdeathsig: syscall.SIGINT,
		Setpgid:   true,
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	started := make(chan error, 1)
	// The parent-death signal fires when the forking OS thread exits, so
	// fork from a locked thread that lives as long as the server.
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err != nil {
			lf.Close()
			close(s.exited)
			runtime.UnlockOSThread()
			return
		}
		s.waitErr = cmd.Wait()
		lf.Close()
		close(s.exited)
		// The thread exits with the goroutine (still locked): the server is gone.
	}()
	return <-started
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready after %s: %v", timeout, lastErr)
}

// findRunning returns the server of pgdata when its postmaster is alive and
// accepts our password.
func findRunning(ctx context.Context, pgdata, secretFile string) *Server {
	f, err := os.Open(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 4 {
		return nil
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil || pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return nil
	}
	pw, err := os.ReadFile(secretFile)
	if err != nil {
		return nil
	}
	s := &Server{Port: port, password: strings.TrimSpace(string(pw))}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, s.URL("postgres"))
	if err != nil {
		return nil
	}
	conn.Close(ctx)
	return s
}

// Stop shuts the server down (fast shutdown) when this process started it.
func (s *Server) Stop() error {
	if s == nil || !s.owned || s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	return nil
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} {
	if s.exited == nil {
		c := make(chan struct{})
		return c
	}
	return s.exited
}
