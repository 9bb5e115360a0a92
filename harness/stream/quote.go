package stream

import (
	"strings"

	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/internal/terminal"
)

// ServerText is a server's own words (an error body, an error event's message) made fit
// to quote in an error, a result file or a terminal: trimmed, credentials masked, escape
// sequences and other control characters removed.
func ServerText(b []byte) string {
	return terminal.Text(secret.Text(strings.TrimSpace(string(b))))
}
