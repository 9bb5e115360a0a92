package reporter

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// drawingElements are the SVG elements a chart may hold: shapes, text and their grouping. Nothing
// that runs script, loads a resource or embeds other markup (script, image, use,
// foreignObject, a, style) is among them.
var drawingElements = map[string]bool{
	"svg": true, "g": true, "path": true, "text": true, "tspan": true, "circle": true, "ellipse": true, "rect": true,
	"line": true, "polyline": true, "polygon": true, "defs": true, "clipPath": true, "linearGradient": true,
	"radialGradient": true, "stop": true, "title": true, "desc": true,
}

// checkSVG refuses an SVG that is not well-formed XML holding drawing elements only, with no
// event handler and no link or url() out of the document. Every chart passes it before it
// is written or inlined in index.html, so no chart library, now or later, and no label it
// failed to escape can put script or markup into the report.
func checkSVG(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if root {
				return errors.New("unsafe SVG: no <svg> element")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("unsafe SVG: not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root && t.Name.Local != "svg" || !drawingElements[t.Name.Local] {
				return fmt.Errorf("unsafe SVG: element <%s>", t.Name.Local)
			}
			root = false
			for _, a := range t.Attr {
				if err := checkAttr(t.Name.Local, a); err != nil {
					return err
				}
			}
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("unsafe SVG: processing instruction <?%s", t.Target)
			}
		case xml.Directive:
			if !bytes.HasPrefix(t, []byte("DOCTYPE")) || bytes.ContainsRune(t, '[') {
				return errors.New("unsafe SVG: a directive other than a plain DOCTYPE")
			}
		}
	}
}

func checkAttr(el string, a xml.Attr) error {
	name := strings.ToLower(a.Name.Local)
	value := strings.ToLower(strings.Join(strings.Fields(a.Value), ""))
	switch {
	case strings.HasPrefix(name, "on"):
		return fmt.Errorf("unsafe SVG: event handler %s on <%s>", a.Name.Local, el)
	case name == "href" && !strings.HasPrefix(value, "#"):
		return fmt.Errorf("unsafe SVG: link %q on <%s>", a.Value, el)
	case strings.Contains(value, "javascript:"), strings.Contains(value, "url(") && !strings.Contains(value, "url(#"):
		return fmt.Errorf("unsafe SVG: %s=%q on <%s>", a.Name.Local, a.Value, el)
	}
	return nil
}
