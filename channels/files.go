package channels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // sniffed image formats: their dimensions are checked
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// Limits on attachments.
const (
	MaxFileSize    = 10 << 20 // per file
	MaxFiles       = 6        // per submission
	MaxImagePixels = 40_000_000
)

// Allowed content types, by sniffing (never by the name or header given).
var allowedTypes = map[string]string{
	"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
	"audio/mpeg": "mp3", "audio/wave": "wav", "audio/amr": "amr", "audio/mp4": "m4a", "audio/ogg": "ogg",
	"application/pdf": "pdf",
}

// Blobs keeps file contents by their SHA-256. LocalBlobs is the default;
// object storage implements the same interface.
type Blobs interface {
	Put(ctx context.Context, sum string, data []byte) error
	Open(ctx context.Context, sum string) (io.ReadCloser, error)
}

// LocalBlobs stores files under Dir/ab/cd/<sha256>.
type LocalBlobs struct{ Dir string }

func (l LocalBlobs) path(sum string) (string, error) {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("bad blob name")
	}
	return filepath.Join(l.Dir, sum[:2], sum[2:4], sum), nil
}

// Put writes data (once; the same content is stored once).
func (l LocalBlobs) Put(ctx context.Context, sum string, data []byte) error {
	p, err := l.path(sum)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".up-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	// Durable before the case that refers to it is acknowledged.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// Open reads a stored file.
func (l LocalBlobs) Open(ctx context.Context, sum string) (io.ReadCloser, error) {
	p, err := l.path(sum)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Stored is an uploaded file, checked and stored, not yet linked to a case.
type Stored struct {
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Name        string `json:"name"`
}

// Files stores attachments and links them to cases.
type Files struct {
	Blobs Blobs
	Cases *cases.Store
}

// ErrFile is a refused upload.
func fileProblem(rule, zh, en string) error {
	return Unacceptable("attachments", rule, zh, en)
}

// Store checks an upload (size, sniffed type, image dimensions) and stores
// it content-addressed. The name is kept for display only, cleaned.
func (f *Files) Store(ctx context.Context, name string, r io.Reader) (Stored, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return Stored{}, err
	}
	if len(data) == 0 {
		return Stored{}, fileProblem("empty", "附件为空", "the attachment is empty")
	}
	if len(data) > MaxFileSize {
		return Stored{}, &httpx.Problem{Status: http.StatusRequestEntityTooLarge, Errs: httpx.Errors{{Field: "attachments", Rule: "max_size",
			MessageZH: fmt.Sprintf("单个附件不能超过 %d MB", MaxFileSize>>20), MessageEN: fmt.Sprintf("an attachment may be at most %d MB", MaxFileSize>>20)}}}
	}
	ct := sniff(data)
	if _, ok := allowedTypes[ct]; !ok {
		return Stored{}, fileProblem("type", "只能上传图片（JPG、PNG、GIF、WebP）、音频或 PDF 文件", "only images (JPEG, PNG, GIF, WebP), audio or PDF files are accepted")
	}
	if strings.HasPrefix(ct, "image/") && ct != "image/webp" {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return Stored{}, fileProblem("image", "图片文件已损坏", "the image is corrupt")
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
			return Stored{}, fileProblem("image_size", "图片尺寸过大", "the image has too many pixels")
		}
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	if err := f.Blobs.Put(ctx, hexSum, data); err != nil {
		return Stored{}, err
	}
	return Stored{SHA256: hexSum, ContentType: ct, Size: int64(len(data)), Name: cleanName(name)}, nil
}

func sniff(data []byte) string {
	ct := http.DetectContentType(data)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch {
	case bytes.HasPrefix(data, []byte("#!AMR")):
		return "audio/amr"
	case len(data) > 12 && string(data[4:8]) == "ftyp" && (string(data[8:11]) == "M4A" || string(data[8:12]) == "isom"):
		return "audio/mp4"
	}
	return ct
}

// cleanName keeps the base name only (no directories, no traversal), at
// most 100 characters.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = CleanLine(filepath.Base("/" + name))
	if name == "/" || name == "." || name == ".." {
		name = ""
	}
	r := []rune(name)
	if len(r) > 100 {
		r = r[len(r)-100:]
	}
	return string(r)
}

// Attachment is a file linked to a case.
type Attachment struct {
	ID          uuid.UUID `json:"id"`
	CaseID      uuid.UUID `json:"case_id"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Name        string    `json:"name"`
	At          time.Time `json:"at"`
}

func (f *Files) attach(ctx context.Context, c *cases.Case, files []Stored, actor auth.Actor) error {
	tx := cases.Tx(ctx)
	for _, s := range files {
		id, _ := uuid.NewV7()
		if _, err := tx.Exec(ctx, `INSERT INTO attachments (id, case_id, county_code, sha256, content_type, size, name, uploaded_by)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (case_id, sha256) DO NOTHING`,
			id, c.ID, c.CountyCode, s.SHA256, s.ContentType, s.Size, s.Name, string(actor.Role)); err != nil {
			return err
		}
	}
	return nil
}

// Attach links stored files to an existing case (a supplementary photo),
// with a note event, in one transaction.
func (f *Files) Attach(ctx context.Context, actor auth.Actor, c *cases.Case, files []Stored, note string) error {
	return f.Cases.InTx(ctx, func(ctx context.Context) error {
		if err := f.attach(ctx, c, files, actor); err != nil {
			return err
		}
		names := make([]string, len(files))
		for i, s := range files {
			names[i] = s.SHA256
		}
		// A citizen's addition is public; staff files are for staff.
		_, err := f.Cases.Note(ctx, actor, c.ID, note, actor.Role == auth.Citizen, map[string]any{"attachments": names})
		return err
	})
}

func (f *Files) visibleCase(w http.ResponseWriter, r *http.Request) (*cases.Case, bool) {
	actor, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		cases.Failure(w, r, cases.ErrNotFound)
		return nil, false
	}
	c, err := f.Cases.Get(r.Context(), id)
	if err != nil || !cases.CanSee(c, actor) {
		cases.Failure(w, r, cases.ErrNotFound)
		return nil, false
	}
	return c, true
}

// List returns the attachments of a case.
func (f *Files) List(ctx context.Context, caseID uuid.UUID) ([]Attachment, error) {
	rows, err := f.Cases.DB().Query(ctx, `SELECT id, case_id, sha256, content_type, size, name, uploaded_at FROM attachments WHERE case_id = $1 ORDER BY uploaded_at, id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attachment, error) {
		var a Attachment
		err := r.Scan(&a.ID, &a.CaseID, &a.SHA256, &a.ContentType, &a.Size, &a.Name, &a.At)
		return a, err
	})
}

// Get returns one attachment.
func (f *Files) Get(ctx context.Context, id uuid.UUID) (Attachment, error) {
	var a Attachment
	err := f.Cases.DB().QueryRow(ctx, `SELECT id, case_id, sha256, content_type, size, name, uploaded_at FROM attachments WHERE id = $1`, id).
		Scan(&a.ID, &a.CaseID, &a.SHA256, &a.ContentType, &a.Size, &a.Name, &a.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, cases.ErrNotFound
	}
	return a, err
}

// Serve writes an attachment's content, for a caller already allowed to
// see its case.
func (f *Files) Serve(w http.ResponseWriter, r *http.Request, a Attachment) {
	rc, err := f.Blobs.Open(r.Context(), a.SHA256)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Length", fmt.Sprint(a.Size))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	disp := "inline"
	if a.ContentType == "application/pdf" {
		disp = "attachment"
	}
	w.Header().Set("Content-Disposition", disp+`; filename="`+a.SHA256[:12]+"."+allowedTypes[a.ContentType]+`"`)
	io.Copy(w, rc)
}

// Routes registers the attachment endpoints:
//
//	GET  /api/v1/attachments/{id}        centre staff, and officers of a unit the case was assigned to
//	GET  /api/v1/cases/{id}/attachments  the same: the list of a case's files
//	POST /api/v1/cases/{id}/attachments  the same: add photos or documents (multipart "file", "note")
func (f *Files) Routes(mux *http.ServeMux) {
	staff := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer}
	mux.Handle("GET /api/v1/cases/{id}/attachments", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := f.visibleCase(w, r)
		if !ok {
			return
		}
		list, err := f.List(r.Context(), c.ID)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"attachments": list})
	}), staff...))
	mux.Handle("POST /api/v1/cases/{id}/attachments", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := auth.FromContext(r.Context())
		c, ok := f.visibleCase(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxFiles*MaxFileSize+1<<20)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "file", Rule: "multipart", MessageZH: "上传内容格式错误或过大", MessageEN: "malformed or oversized multipart body"})
			return
		}
		defer r.MultipartForm.RemoveAll()
		fhs := r.MultipartForm.File["file"]
		if len(fhs) == 0 || len(fhs) > MaxFiles {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "file", Rule: "count", MessageZH: "请选择 1 到 6 个文件", MessageEN: "give 1 to 6 files"})
			return
		}
		var stored []Stored
		for _, fh := range fhs {
			fl, err := fh.Open()
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			st, err := f.Store(r.Context(), fh.Filename, fl)
			fl.Close()
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			stored = append(stored, st)
		}
		note := CleanText(r.FormValue("note"))
		if note == "" {
			note = "上传附件"
		}
		if err := f.Attach(r.Context(), actor, c, stored, note); err != nil {
			cases.Failure(w, r, err)
			return
		}
		list, _ := f.List(r.Context(), c.ID)
		httpx.JSON(w, http.StatusCreated, map[string]any{"attachments": list})
	}), staff...))
	mux.Handle("GET /api/v1/attachments/{id}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := auth.FromContext(r.Context())
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			cases.Failure(w, r, cases.ErrNotFound)
			return
		}
		a, err := f.Get(r.Context(), id)
		if err != nil {
			cases.Failure(w, r, err)
			return
		}
		c, err := f.Cases.Get(r.Context(), a.CaseID)
		if err != nil || !cases.CanSee(c, actor) {
			cases.Failure(w, r, cases.ErrNotFound)
			return
		}
		f.Serve(w, r, a)
	}), auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer))
}
