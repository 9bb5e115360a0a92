package stream

import "net/http"

// Authorize returns a client that sends c's requests with the Authorization header set to
// value ("Bearer KEY" for an API key); with value "" it returns c. Every request servegate
// sends to a server goes through such a client: streams, probes, metrics scrapes, the
// tokenizer and cache resets, so a server behind an API key answers them all.
func Authorize(c *http.Client, value string) *http.Client {
	if value == "" {
		return c
	}
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = authorized{base: base, value: value}
	return &out
}

// authorized adds the Authorization header to each request it sends.
type authorized struct {
	base  http.RoundTripper
	value string
}

func (a authorized) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	req.Header.Set("Authorization", a.value)
	return a.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the wrapped transport.
func (a authorized) CloseIdleConnections() {
	if c, ok := a.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
