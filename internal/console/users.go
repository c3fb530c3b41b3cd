package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// UserStore is the SQL user store (users_db) the console edits: a
// *sqlstore.Store.
type UserStore interface {
	List(ctx context.Context) ([]sqlstore.User, error)
	Add(ctx context.Context, u sqlstore.User) error
	Update(ctx context.Context, name string, fn func(*sqlstore.User) error) error
	Delete(ctx context.Context, name string) error
}

// FileUser is a user of the configuration file, shown read-only.
type FileUser struct {
	Name  string
	Root  string // the local root, or "s3://bucket/prefix"
	Perms ftpserver.Perms
}

// Sources of a user.
const (
	SourceDB   = "users_db"
	SourceFile = "config file"
)

// UserJSON is a user as the API shows it (never its password hash or S3
// secret).
type UserJSON struct {
	Name         string   `json:"name"`
	Source       string   `json:"source"` // SourceDB or SourceFile (read-only)
	Root         string   `json:"root"`
	S3           *S3JSON  `json:"s3,omitempty"` // S3 storage, instead of a local root
	Perms        []string `json:"perms"`
	MaxSessions  int      `json:"max_sessions,omitempty"`
	UploadRate   int64    `json:"upload_rate,omitempty"`
	DownloadRate int64    `json:"download_rate,omitempty"`
	// MaxBytes and MaxFiles are the user's quota (0: the server's default,
	// -1: unlimited); UsedBytes and UsedFiles what the servers counted,
	// when they have scanned the user's storage.
	MaxBytes   int64     `json:"max_bytes,omitempty"`
	MaxFiles   int64     `json:"max_files,omitempty"`
	UsedBytes  *int64    `json:"used_bytes,omitempty"`
	UsedFiles  *int64    `json:"used_files,omitempty"`
	RequireTLS bool      `json:"require_tls,omitempty"`
	Disabled   bool      `json:"disabled,omitempty"`
	Created    time.Time `json:"created,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
}

// S3JSON is a user's S3 storage: the credentials are a reference
// (env:ACCESS_VAR,SECRET_VAR or profile:NAME), never the keys.
type S3JSON struct {
	Endpoint    string `json:"endpoint,omitempty"`
	Bucket      string `json:"bucket"`
	Prefix      string `json:"prefix,omitempty"`
	Region      string `json:"region,omitempty"`
	Credentials string `json:"credentials,omitempty"`
}

// UserRequest is the body of POST /api/v1/users and PATCH
// /api/v1/users/{name}; on PATCH, absent fields stay as they are.
type UserRequest struct {
	Name         string    `json:"name"`
	Password     *string   `json:"password"`
	Root         *string   `json:"root"`
	S3           *S3JSON   `json:"s3"` // moves the user to S3 storage; root moves it back
	Perms        *[]string `json:"perms"`
	MaxSessions  *int      `json:"max_sessions"`
	UploadRate   *int64    `json:"upload_rate"`
	DownloadRate *int64    `json:"download_rate"`
	MaxBytes     *int64    `json:"max_bytes"`
	MaxFiles     *int64    `json:"max_files"`
	RequireTLS   *bool     `json:"require_tls"`
	Disabled     *bool     `json:"disabled"`
}

var (
	errNoUsersDB = errors.New("no users_db is configured: users can only be edited in the SQL user store")
	errFileUser  = errors.New("this user is defined in the configuration file, which takes precedence; edit it there")
)

func storageRoot(st userstore.StorageSpec) string {
	if st.Kind == userstore.StorageS3 {
		return "s3://" + st.Bucket + "/" + st.Prefix
	}
	return st.Root
}

// users lists the database's users, then the file's.
func (c *Console) users(ctx context.Context) ([]UserJSON, error) {
	var out []UserJSON
	if c.store != nil {
		db, err := c.store.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range db {
			j := UserJSON{Name: u.Name, Source: SourceDB, Root: storageRoot(u.Storage), S3: s3JSON(u.Storage), Perms: permList(u.Perms),
				MaxSessions: u.MaxSessions, UploadRate: u.Rates.Upload, DownloadRate: u.Rates.Download,
				MaxBytes: u.Quota.MaxBytes, MaxFiles: u.Quota.MaxFiles,
				RequireTLS: u.RequireTLS, Disabled: u.Disabled, Created: u.Created, Updated: u.Updated}
			if u.UsageKnown {
				j.UsedBytes, j.UsedFiles = &u.Usage.Bytes, &u.Usage.Files
			}
			out = append(out, j)
		}
	}
	if c.fileUsers != nil {
		for _, u := range c.fileUsers() {
			out = append(out, UserJSON{Name: u.Name, Source: SourceFile, Root: u.Root, Perms: permList(u.Perms)})
		}
	}
	return out, nil
}

func s3JSON(st userstore.StorageSpec) *S3JSON {
	if !st.IsS3() {
		return nil
	}
	return &S3JSON{Endpoint: st.Endpoint, Bucket: st.Bucket, Prefix: st.Prefix, Region: st.Region, Credentials: st.Credentials.String()}
}

func permList(p ftpserver.Perms) []string {
	if p == 0 {
		return []string{}
	}
	return strings.Split(p.String(), ",")
}

func (c *Console) isFileUser(name string) bool {
	if c.fileUsers == nil {
		return false
	}
	for _, u := range c.fileUsers() {
		if u.Name == name {
			return true
		}
	}
	return false
}

// apply sets the fields req gives on u.
func (req *UserRequest) apply(u *sqlstore.User) error {
	if req.Password != nil {
		if *req.Password == "" {
			return errors.New("password: empty")
		}
		h, err := password.Hash(*req.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	switch {
	case req.Root != nil && req.S3 != nil:
		return errors.New("give root or s3, not both")
	case req.Root != nil:
		u.Storage = userstore.StorageSpec{Kind: userstore.StorageLocal, Root: *req.Root}
	case req.S3 != nil:
		creds, err := userstore.ParseCredentials(req.S3.Credentials)
		if err != nil {
			return err
		}
		u.Storage = userstore.StorageSpec{Kind: userstore.StorageS3, Endpoint: req.S3.Endpoint, Bucket: req.S3.Bucket,
			Prefix: req.S3.Prefix, Region: req.S3.Region, Credentials: creds}
	}
	if req.Perms != nil {
		p, err := ftpserver.ParsePerms(*req.Perms)
		if err != nil {
			return err
		}
		if p == 0 {
			return errors.New("perms: give at least one permission (read, list, ...)")
		}
		u.Perms = p
	}
	if req.MaxSessions != nil {
		u.MaxSessions = *req.MaxSessions
	}
	if req.UploadRate != nil {
		u.Rates.Upload = *req.UploadRate
	}
	if req.DownloadRate != nil {
		u.Rates.Download = *req.DownloadRate
	}
	if req.MaxBytes != nil {
		u.Quota.MaxBytes = *req.MaxBytes
	}
	if req.MaxFiles != nil {
		u.Quota.MaxFiles = *req.MaxFiles
	}
	if req.RequireTLS != nil {
		u.RequireTLS = *req.RequireTLS
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
	}
	return u.Validate()
}

// addUser creates a user of the database.
func (c *Console) addUser(r *http.Request, req *UserRequest) error {
	if c.store == nil {
		return errNoUsersDB
	}
	if c.isFileUser(req.Name) {
		return errFileUser
	}
	if req.Password == nil || req.Root == nil {
		return errors.New("a new user needs a name, a password and a root")
	}
	u := sqlstore.User{Name: req.Name}
	if err := req.apply(&u); err != nil {
		return err
	}
	if err := c.store.Add(r.Context(), u); err != nil {
		return err
	}
	c.action(r, "add_user", "user", req.Name)
	return nil
}

// editUser changes a user of the database.
func (c *Console) editUser(r *http.Request, name string, req *UserRequest) error {
	if c.store == nil {
		return errNoUsersDB
	}
	if c.isFileUser(name) {
		return errFileUser
	}
	if err := c.store.Update(r.Context(), name, req.apply); err != nil {
		return err
	}
	what := []string{}
	if req.Password != nil {
		what = append(what, "password")
	}
	if req.Disabled != nil {
		what = append(what, map[bool]string{true: "disabled", false: "enabled"}[*req.Disabled])
	}
	c.action(r, "edit_user", "user", name, "changed", strings.Join(what, ","))
	return nil
}

func (c *Console) deleteUser(r *http.Request, name string) error {
	if c.store == nil {
		return errNoUsersDB
	}
	if c.isFileUser(name) {
		return errFileUser
	}
	if err := c.store.Delete(r.Context(), name); err != nil {
		return err
	}
	c.action(r, "delete_user", "user", name)
	return nil
}

// userStatus maps a user operation's error to an HTTP status.
func userStatus(err error) int {
	switch {
	case errors.Is(err, sqlstore.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, sqlstore.ErrExists), errors.Is(err, errFileUser):
		return http.StatusConflict
	case errors.Is(err, errNoUsersDB):
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func (c *Console) apiUsers(w http.ResponseWriter, r *http.Request) {
	l, err := c.users(r.Context())
	if err != nil {
		c.log.Error("admin console: listing users failed", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the user database failed; see the server log")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (c *Console) apiAddUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := c.addUser(r, &req); err != nil {
		httpError(w, userStatus(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (c *Console) apiEditUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Name != "" && req.Name != r.PathValue("name") {
		httpError(w, http.StatusBadRequest, "renaming a user is not supported")
		return
	}
	if err := c.editUser(r, r.PathValue("name"), &req); err != nil {
		httpError(w, userStatus(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) apiDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := c.deleteUser(r, r.PathValue("name")); err != nil {
		httpError(w, userStatus(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// usersPage lists the users, with forms to add, disable and delete
// database users.
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	p := c.basePage(r, "Users")
	l, err := c.users(r.Context())
	if err != nil {
		c.log.Error("admin console: listing users failed", "err", err)
		p.Error = "The user database failed; see the server log."
	}
	p.Users, p.UsersDB = l, c.store != nil
	if msg := r.URL.Query().Get("error"); msg != "" && p.Error == "" {
		p.Error = userFailures[msg]
	}
	c.render(w, http.StatusOK, "users.html", p)
}

var userFailures = map[string]string{
	"add":    "The user could not be added: check the name, the password and that the root is an absolute path (see the server log).",
	"edit":   "The user could not be changed (see the server log).",
	"delete": "The user could not be deleted (see the server log).",
	"exists": "A user of that name exists already (in the database or the configuration file).",
}

// userFailure redirects to the users page with the failure's notice, after
// logging err.
func (c *Console) userFailure(w http.ResponseWriter, r *http.Request, what string, err error) {
	c.log.Info("admin console: user change refused", "admin", adminOf(r.Context()).name, "op", what, "err", err)
	if userStatus(err) == http.StatusConflict {
		what = "exists"
	}
	http.Redirect(w, r, "/users?error="+what, http.StatusSeeOther)
}

func (c *Console) uiAddUser(w http.ResponseWriter, r *http.Request) {
	pw, root := r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("root"))
	perms := []string{"read", "list"}
	if r.PostFormValue("write") != "" {
		perms = []string{"all"}
	}
	req := UserRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Password: &pw, Root: &root, Perms: &perms}
	if err := c.addUser(r, &req); err != nil {
		c.userFailure(w, r, "add", err)
		return
	}
	http.Redirect(w, r, "/users?done=user_added", http.StatusSeeOther)
}

func (c *Console) uiEditUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	switch r.PostFormValue("op") {
	case "disable", "enable":
		d := r.PostFormValue("op") == "disable"
		req.Disabled = &d
	case "password":
		pw := r.PostFormValue("password")
		req.Password = &pw
	case "settings":
		if err := settingsRequest(r, &req); err != nil {
			c.userFailure(w, r, "edit", err)
			return
		}
	default:
		http.Error(w, "unknown operation", http.StatusBadRequest)
		return
	}
	if err := c.editUser(r, r.PathValue("name"), &req); err != nil {
		c.userFailure(w, r, "edit", err)
		return
	}
	http.Redirect(w, r, "/users?done=user_changed", http.StatusSeeOther)
}

// settingsRequest reads the users page's settings form: root,
// permissions, session cap, bandwidth and quota, written as in the
// configuration file ("10MiB/s", "5GiB", "unlimited").
func settingsRequest(r *http.Request, req *UserRequest) error {
	if bucket := strings.TrimSpace(r.PostFormValue("s3_bucket")); bucket != "" {
		req.S3 = &S3JSON{Bucket: bucket, Endpoint: strings.TrimSpace(r.PostFormValue("s3_endpoint")),
			Prefix: strings.TrimSpace(r.PostFormValue("s3_prefix")), Region: strings.TrimSpace(r.PostFormValue("s3_region")),
			Credentials: strings.TrimSpace(r.PostFormValue("s3_credentials"))}
	} else {
		root := strings.TrimSpace(r.PostFormValue("root"))
		req.Root = &root
	}
	perms := r.PostForm["perm"]
	if len(perms) == 0 {
		return errors.New("perms: give at least one permission")
	}
	req.Perms = &perms
	ints := []struct {
		field string
		dst   **int64
		parse func(string) (int64, error)
	}{
		{"upload_rate", &req.UploadRate, config.ParseRate},
		{"download_rate", &req.DownloadRate, config.ParseRate},
		{"max_bytes", &req.MaxBytes, config.ParseSize},
		{"max_files", &req.MaxFiles, parseCount},
	}
	for _, f := range ints {
		v, err := f.parse(strings.TrimSpace(r.PostFormValue(f.field)))
		if err != nil {
			return fmt.Errorf("%s: %w", f.field, err)
		}
		*f.dst = &v
	}
	n, err := parseCount(strings.TrimSpace(r.PostFormValue("max_sessions")))
	if err != nil || n < 0 {
		return fmt.Errorf("max_sessions: %q is not a count", r.PostFormValue("max_sessions"))
	}
	sessions := int(n)
	tls := r.PostFormValue("require_tls") != ""
	req.MaxSessions, req.RequireTLS = &sessions, &tls
	return nil
}

// parseCount reads a whole number; "" is 0 and "unlimited" is -1.
func parseCount(s string) (int64, error) {
	switch s {
	case "":
		return 0, nil
	case "unlimited":
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func (c *Console) uiDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := c.deleteUser(r, r.PathValue("name")); err != nil {
		c.userFailure(w, r, "delete", err)
		return
	}
	http.Redirect(w, r, "/users?done=user_deleted", http.StatusSeeOther)
}
