// Package secret masks credentials in what servegate writes: result files, the report,
// its own output and the server log lines it quotes. A launch command, an environment, a
// URL or a framework's log can each carry an API key or a password; every writer passes
// them through here, so one set of rules decides what is a secret.
//
// A value is masked when it is named like a credential (a variable, flag or field whose
// name holds KEY, TOKEN, SECRET, PASS, AUTH or CREDENTIAL), when it follows an
// Authorization scheme (Bearer, Basic), or when it is the password of a URL
// (http://user:pass@host, DATABASE_URL and the like).
package secret

import (
	"regexp"
	"strings"
)

// Masked replaces every secret value.
const Masked = "***"

// markers are the parts of a name that make its value a credential.
var markers = []string{"KEY", "TOKEN", "SECRET", "PASS", "AUTH", "CREDENTIAL", "PWD"}

// benign are words that hold a marker but name counts, tools or authors, not credentials:
// --max-num-batched-tokens and --tokenizer are launch flags worth keeping in the results.
var benign = map[string]bool{
	"TOKENS": true, "TOKENIZER": true, "TOKENIZERS": true, "TOKENIZE": true, "TOKENIZATION": true,
	"PASSTHROUGH": true, "AUTHOR": true, "AUTHORS": true, "KEYS": true, "KEYFILE": true,
}

// Name reports whether a variable, flag or field name says its value is a credential:
// HF_TOKEN, OPENAI_API_KEY, --api-key, PGPASSWORD, AWS_SECRET_ACCESS_KEY, api_key.
func Name(name string) bool {
	if n := strings.ToUpper(strings.TrimLeft(name, "-")); n == "PWD" || n == "OLDPWD" {
		return false // the shell's working directories
	}
	for _, w := range strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if benign[w] {
			continue
		}
		for _, m := range markers {
			if strings.Contains(w, m) {
				return true
			}
		}
	}
	return false
}

// URL masks the password of a URL (http://user:***@host); a user name alone, which
// services use as a token (http://TOKEN@host), is masked whole. Other text is unchanged.
func URL(s string) string {
	return userinfo.ReplaceAllStringFunc(s, func(m string) string {
		scheme, info, _ := strings.Cut(m, "://")
		info = strings.TrimSuffix(info, "@")
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + "://" + user + ":" + Masked + "@"
		}
		return scheme + "://" + Masked + "@"
	})
}

var (
	userinfo = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s"'<>]+@`)
	// bearer is an Authorization header's token quoted without its name: "Bearer sk-…".
	bearer = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}`)
	// value is what follows a credential's name: an Authorization scheme and its token, a
	// quoted string, a Python list, or a bare word.
	value = `((?i:bearer|basic)\s+[^\s"',;&)}\]]+|"[^"]*"|'[^']*'|\[[^\]]*\]|[^\s"',;&)}\]]+)`
	// flag is --name value or --name=value in a command line written out.
	flag = regexp.MustCompile(`(^|\s)(--?[A-Za-z][A-Za-z0-9_.-]*)(=|\s+)` + value)
	// assignment is name=value or name: value, quoted or not, as environments, JSON and
	// Python's repr of arguments write them.
	assignment = regexp.MustCompile(`(["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?)(\s*[=:]\s*)` + value)
	// envName is a NAME=value entry's name, or a flag's in --name=value.
	envName = regexp.MustCompile(`^-{0,2}[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// Text masks every secret in free text: a log line, an error, a command written out.
func Text(s string) string {
	s = URL(s)
	s = bearer.ReplaceAllString(s, "${1}"+Masked)
	for _, re := range []*regexp.Regexp{flag, assignment} {
		s = maskAfterNames(re, s)
	}
	return s
}

// maskAfterNames masks the value of each match of re (name in its second group, value in
// its last) whose name is a credential's. A match that is not one resumes the search at
// its value, which may itself be a name: "headers: Authorization: Basic …".
func maskAfterNames(re *regexp.Regexp, s string) string {
	var b strings.Builder
	pos := 0
	for pos < len(s) {
		m := re.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		name := s[pos+m[4] : pos+m[5]]
		vStart, vEnd := pos+m[len(m)-2], pos+m[len(m)-1]
		value := s[vStart:vEnd]
		if !Name(name) || strings.HasPrefix(value, "-") || strings.Trim(value, `"'[]`) == Masked {
			b.WriteString(s[pos:vStart])
			pos = vStart
			continue
		}
		b.WriteString(s[pos:vStart])
		b.WriteString(maskValue(value))
		pos = vEnd
	}
	b.WriteString(s[pos:])
	return b.String()
}

// maskValue masks a value, keeping its quotes and an Authorization scheme.
func maskValue(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return string(v[0]) + Masked + string(v[0])
	}
	if strings.HasPrefix(v, "[") {
		return "[" + Masked + "]"
	}
	if sch, _, ok := strings.Cut(v, " "); ok {
		return sch + " " + Masked
	}
	return Masked
}

// Args masks a command line: the value after a credential flag (--api-key KEY,
// --api-key=KEY, --token KEY), NAME=value arguments with a credential name (docker's -e
// HF_TOKEN=…), and secrets inside any other argument (URLs, sh -c scripts).
func Args(args []string) []string {
	out := make([]string, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && Name(a) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out[i], out[i+1] = a, Masked
			i++
			continue
		}
		out[i] = Env([]string{a})[0]
	}
	return out
}

// Env masks NAME=value entries whose name is a credential's, and secrets inside the other
// values (a DATABASE_URL's password).
func Env(env []string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case ok && envName.MatchString(k) && Name(k):
			out[i] = k + "=" + Masked
		case ok && envName.MatchString(k):
			out[i] = k + "=" + Text(v)
		default:
			out[i] = Text(kv)
		}
	}
	return out
}

// Value returns a copy of v, a decoded JSON value, with its secrets masked: a string under
// a credential's name whole, a list of strings as a command line (Args), any other string
// as free text. The report shows result files through it, older ones included.
func Value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if _, isString := x.(string); isString && Name(k) {
				out[k] = Masked
			} else {
				out[k] = Value(x)
			}
		}
		return out
	case []any:
		strs := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				out := make([]any, len(v))
				for j, y := range v {
					out[j] = Value(y)
				}
				return out
			}
			strs[i] = s
		}
		out := make([]any, len(v))
		for i, s := range Args(strs) {
			out[i] = s
		}
		return out
	case string:
		return Text(v)
	}
	return v
}
