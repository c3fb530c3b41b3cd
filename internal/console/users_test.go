package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/console"
)

func TestAPIUsers(t *testing.T) {
	e, _ := newEnvDB(t)
	root := t.TempDir()
	if code, body := e.do(t, "POST", "/api/v1/users", e.read, `{"name":"zoe","password":"pw","root":"`+root+`"}`); code != http.StatusForbidden {
		t.Errorf("add with a read token: %d %s", code, body)
	}
	for _, bad := range []string{
		`{"name":"zoe","password":"pw"}`,                              // no root
		`{"name":"zoe","password":"pw","root":"relative"}`,            // not absolute
		`{"name":"zoe","password":"pw","root":"/x","perms":["sudo"]}`, // unknown permission
		`{"name":"a b","password":"pw","root":"/x"}`,                  // bad name
	} {
		if code, body := e.do(t, "POST", "/api/v1/users", e.full, bad); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s, want 400", bad, code, body)
		}
	}
	if code, body := e.do(t, "POST", "/api/v1/users", e.full, `{"name":"u","password":"pw","root":"/x"}`); code != http.StatusConflict {
		t.Errorf("add over a config-file user: %d %s", code, body)
	}
	if code, body := e.do(t, "POST", "/api/v1/users", e.full, `{"name":"zoe","password":"pw","root":"`+root+`","perms":["all"]}`); code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, body)
	}
	if code, _ := e.do(t, "POST", "/api/v1/users", e.full, `{"name":"zoe","password":"pw","root":"`+root+`"}`); code != http.StatusConflict {
		t.Errorf("second add: %d, want 409", code)
	}
	c := ftpservertest.Dial(t, e.ftp.Addr)
	c.Login("zoe", "pw")
	c.Stor("STOR", "f.txt", "hi")

	_, body := e.do(t, "GET", "/api/v1/users", e.read, "")
	var users []console.UserJSON
	if err := json.Unmarshal([]byte(body), &users); err != nil || len(users) != 2 {
		t.Fatalf("users %s (%v)", body, err)
	}
	if users[0].Name != "zoe" || users[0].Source != console.SourceDB || users[0].Root != root ||
		users[1].Name != "u" || users[1].Source != console.SourceFile || strings.Contains(body, "argon2") {
		t.Errorf("users %s", body)
	}

	if code, body := e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"password":"new","disabled":true}`); code != http.StatusNoContent {
		t.Fatalf("patch: %d %s", code, body)
	}
	c2 := ftpservertest.Dial(t, e.ftp.Addr)
	c2.Do(ftp.CodeNeedPassword, "USER zoe")
	c2.Do(ftp.CodeNotLoggedIn, "PASS new") // disabled
	e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"disabled":false,"max_bytes":10,"max_files":5}`)
	c3 := ftpservertest.Dial(t, e.ftp.Addr)
	c3.Login("zoe", "new")
	if msg := c3.Do(ftp.CodeOK, "SITE QUOTA"); !strings.Contains(msg, "limit: 10\n") {
		t.Errorf("SITE QUOTA after setting max_bytes 10 in the API: %q", msg)
	}
	_, body = e.do(t, "GET", "/api/v1/users", e.read, "")
	if !strings.Contains(body, `"max_bytes":10`) || !strings.Contains(body, `"max_files":5`) {
		t.Errorf("the quota is not listed: %s", body)
	}
	if code, body := e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"s3":{"bucket":"media","prefix":"zoe/","credentials":"env:AK,SK"}}`); code != http.StatusNoContent {
		t.Fatalf("move to S3: %d %s", code, body)
	}
	_, body = e.do(t, "GET", "/api/v1/users", e.read, "")
	if !strings.Contains(body, `"s3":{"bucket":"media","prefix":"zoe/","credentials":"env:AK,SK"}`) {
		t.Errorf("the S3 storage is not listed: %s", body)
	}
	if code, _ := e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"root":"`+root+`","s3":{"bucket":"b"}}`); code != http.StatusBadRequest {
		t.Errorf("root and s3 together: %d, want 400", code)
	}
	if code, _ := e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"s3":{"bucket":"b","credentials":"the keys"}}`); code != http.StatusBadRequest {
		t.Errorf("a credentials value that is not a reference: %d, want 400", code)
	}
	if code, body := e.do(t, "PATCH", "/api/v1/users/zoe", e.full, `{"root":"`+root+`"}`); code != http.StatusNoContent {
		t.Fatalf("back to a local root: %d %s", code, body)
	}
	if code, _ := e.do(t, "PATCH", "/api/v1/users/u", e.full, `{"disabled":true}`); code != http.StatusConflict {
		t.Errorf("patch of a config-file user: %d, want 409", code)
	}
	if code, _ := e.do(t, "PATCH", "/api/v1/users/nobody", e.full, `{"disabled":true}`); code != http.StatusNotFound {
		t.Errorf("patch of an unknown user: %d, want 404", code)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/users/zoe", e.full, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := e.do(t, "DELETE", "/api/v1/users/zoe", e.full, ""); code != http.StatusNotFound {
		t.Errorf("second delete: %d, want 404", code)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "action=add_user user=zoe") || !strings.Contains(logs, "action=delete_user user=zoe") {
		t.Errorf("user actions not logged:\n%s", logs)
	}
}

func TestAPIUsersWithoutDB(t *testing.T) {
	e := newEnv(t, nil, ftpserver.Rates{})
	if code, body := e.do(t, "GET", "/api/v1/users", e.read, ""); code != 200 || strings.TrimSpace(body) != "null" && strings.TrimSpace(body) != "[]" {
		t.Errorf("users: %d %s", code, body)
	}
	if code, _ := e.do(t, "POST", "/api/v1/users", e.full, `{"name":"zoe","password":"pw","root":"/x"}`); code != http.StatusNotFound {
		t.Errorf("add without users_db: %d, want 404", code)
	}
}

func TestWebUsersPage(t *testing.T) {
	e, store := newEnvDB(t)
	b := newBrowser(t, e)
	csrf := b.login()
	root := t.TempDir()
	if resp, _ := b.post("/users", url.Values{"name": {"kim"}, "password": {"pw"}, "root": {root}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("add without CSRF: %d", resp.StatusCode)
	}
	resp, _ := b.post("/users", url.Values{"name": {"kim"}, "password": {"pw"}, "root": {root}, "csrf": {csrf}})
	if loc := resp.Header.Get("Location"); loc != "/users?done=user_added" {
		t.Fatalf("add: %d %s", resp.StatusCode, loc)
	}
	ftpservertest.Dial(t, e.ftp.Addr).Login("kim", "pw")
	_, body := b.get("/users")
	if !strings.Contains(body, `data-user="kim"`) || !strings.Contains(body, "read-only: defined in the configuration file") {
		t.Errorf("users page:\n%s", body)
	}
	resp, _ = b.post("/users", url.Values{"name": {"kim"}, "password": {"pw"}, "root": {root}, "csrf": {csrf}})
	if loc := resp.Header.Get("Location"); loc != "/users?error=exists" {
		t.Errorf("second add: %s", loc)
	}
	settings := url.Values{"csrf": {csrf}, "op": {"settings"}, "root": {root}, "perm": {"list", "read", "write"},
		"max_sessions": {"3"}, "upload_rate": {"1MiB/s"}, "download_rate": {"0"}, "max_bytes": {"5GiB"}, "max_files": {"unlimited"},
		"require_tls": {"1"}}
	resp, _ = b.post("/users/kim/edit", settings)
	if loc := resp.Header.Get("Location"); loc != "/users?done=user_changed" {
		t.Fatalf("settings: %d %s", resp.StatusCode, loc)
	}
	u, err := store.Get(t.Context(), "kim")
	if err != nil || u.MaxSessions != 3 || u.Rates != (ftpserver.Rates{Upload: 1 << 20}) || u.Quota.MaxBytes != 5<<30 ||
		u.Quota.MaxFiles != -1 || !u.RequireTLS || u.Perms != ftpserver.PermList|ftpserver.PermRead|ftpserver.PermWrite {
		t.Errorf("after the settings form: %+v, %v", u, err)
	}
	_, body = b.get("/users")
	for _, want := range []string{`value="1MiB/s"`, `value="5GiB"`, `value="unlimited"`, `value="write" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("the settings form does not show %s", want)
		}
	}
	s3 := url.Values{"csrf": {csrf}, "op": {"settings"}, "perm": {"list", "read"}, "s3_bucket": {"media"},
		"s3_prefix": {"kim/"}, "s3_credentials": {"profile:kim"}}
	if resp, _ = b.post("/users/kim/edit", s3); resp.Header.Get("Location") != "/users?done=user_changed" {
		t.Fatalf("S3 settings: %s", resp.Header.Get("Location"))
	}
	if u, _ := store.Get(t.Context(), "kim"); !u.Storage.IsS3() || u.Storage.Bucket != "media" || u.Storage.Prefix != "kim/" ||
		u.Storage.Credentials.Profile != "kim" {
		t.Errorf("after the S3 settings: %+v", u.Storage)
	}
	if _, body = b.get("/users"); !strings.Contains(body, `name="s3_bucket" value="media"`) {
		t.Error("the settings form of an S3 user does not show its bucket")
	}
	settings.Set("upload_rate", "fast")
	if resp, _ = b.post("/users/kim/edit", settings); resp.Header.Get("Location") != "/users?error=edit" {
		t.Errorf("a bad rate was accepted: %s", resp.Header.Get("Location"))
	}
	resp, _ = b.post("/users/kim/delete", url.Values{"csrf": {csrf}})
	if loc := resp.Header.Get("Location"); loc != "/users?done=user_deleted" {
		t.Errorf("delete: %s", loc)
	}
}
