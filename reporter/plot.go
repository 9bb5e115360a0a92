package reporter

// Charts are drawn with gonum.org/v1/plot: it has error bars, grouped bars, shaded
// polygons and a log scale with ticks of our choosing, and renders PNG and SVG from one
// drawing; its SVG text is escaped (and every SVG still passes checkSVG).

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var nan = math.NaN()

// palette is Okabe and Ito's colour-blind-safe set (yellow, too pale on white, replaced by
// brown); dashes are solid, dashed, dotted and dash-dot. Run i gets colour i mod 8 and dash
// (i + i/8) mod 4, so no two of the first 32 runs share both.
var (
	palette = []color.RGBA{
		{0x00, 0x72, 0xB2, 0xff}, {0xD5, 0x5E, 0x00, 0xff}, {0x00, 0x9E, 0x73, 0xff}, {0xCC, 0x79, 0xA7, 0xff},
		{0xE6, 0x9F, 0x00, 0xff}, {0x56, 0xB4, 0xE9, 0xff}, {0x00, 0x00, 0x00, 0xff}, {0x8C, 0x6D, 0x31, 0xff},
	}
	dashes = [][]vg.Length{nil, {vg.Points(7), vg.Points(3.5)}, {vg.Points(1.5), vg.Points(2.5)},
		{vg.Points(7), vg.Points(2.5), vg.Points(1.5), vg.Points(2.5)}}
	// barColors are the sets of a grouped bar chart (English, Korean): not run colours, as
	// the runs are named under their groups.
	barColors = []color.RGBA{{0x4C, 0x5B, 0x78, 0xff}, {0xE6, 0x9F, 0x00, 0xff}}
	// referenceGrey draws what belongs to no run (a target line).
	referenceGrey = color.RGBA{0x7f, 0x7f, 0x7f, 0xff}
	// markers tell apart series of one run (c=1 and c=4; shared and control).
	markers = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}}
)

// runStyle is run i's colour and dash, the same in every chart and legend.
func runStyle(i int) (color.RGBA, []vg.Length) {
	return palette[i%len(palette)], dashes[(i+i/len(palette))%len(dashes)]
}

// cssColor is c as #rrggbb.
func cssColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// cssDash is a dash pattern as an SVG stroke-dasharray ("" for solid).
func cssDash(d []vg.Length) string {
	s := ""
	for i, l := range d {
		if i > 0 {
			s += ","
		}
		s += strconv.FormatFloat(l.Points(), 'g', -1, 64)
	}
	return s
}

type format int

const (
	formatPNG format = iota
	formatSVG
)

// The drawing is ChartWidth x ChartHeight pixels at 96 dpi.
const dpi = 96

func px(n float64) vg.Length { return vg.Length(n * 72 / dpi) }

func sans(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
}

// render draws the chart: the plot on the left, its legend in a column of its own on the
// right, so it never covers data.
func (c Chart) render(f format) ([]byte, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = sans(12)
	p.Title.Padding = px(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(10.5)
		a.Tick.Label.Font = sans(9.5)
	}
	p.X.Label.Text, p.Y.Label.Text = c.XName, c.YName
	grid := plotter.NewGrid()
	if c.bars != nil {
		grid.Vertical.Color = nil // bars stand on their groups' names, not on a grid
	}
	p.Add(grid)
	leg := plot.NewLegend()
	leg.TextStyle.Font = sans(9.5)
	leg.Top, leg.Left = true, true
	leg.Padding = px(4)
	leg.ThumbnailWidth = px(34)
	var err error
	if c.bars != nil {
		err = c.addBars(p, &leg)
	} else {
		err = c.addSeries(p, &leg)
	}
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.File, err)
	}
	w, h := px(ChartWidth), px(ChartHeight)
	var canvas vg.CanvasWriterTo
	switch f {
	case formatSVG:
		canvas = vgsvg.New(w, h)
	default:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))}
	}
	dc := draw.New(canvas)
	// White under everything: a PNG is not transparent, an SVG reads on a dark page.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	legendW := legendWidth(leg)
	plotArea := dc
	plotArea.Max.X -= legendW + px(16)
	p.Draw(plotArea)
	legArea := dc
	legArea.Min.X = plotArea.Max.X + px(12)
	legArea.Max.Y -= px(44) // level with the top of the plot, under the title
	leg.Draw(legArea)
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.File, err)
	}
	return buf.Bytes(), nil
}

// legendWidth is the width of the legend's column: its longest entry, within a quarter to
// a third of the chart.
func legendWidth(l plot.Legend) vg.Length {
	rect := l.Rectangle(draw.Canvas{})
	w := rect.Max.X - rect.Min.X
	return vg.Length(math.Min(math.Max(float64(w), float64(px(ChartWidth)/5)), float64(px(ChartWidth)/3)))
}

// addSeries draws each series: its band (shaded), its line in the run's colour and dash,
// a marker at every measured point and, where the point has an interval, an error bar.
func (c Chart) addSeries(p *plot.Plot, leg *plot.Legend) error {
	top := 0.0
	xs := map[float64]bool{}
	var refs []series
	for _, s := range c.series {
		if s.reference {
			refs = append(refs, s)
			continue
		}
		col, dash := runStyle(s.Style)
		pts := xyOf(s.X, s.Y)
		if s.rule {
			// Thin, so it reads as a mark on the run's line, not a second series.
			rule, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			rule.LineStyle.Color, rule.LineStyle.Width, rule.LineStyle.Dashes = col, vg.Points(1), dash
			p.Add(rule)
			xs[s.X[0]] = true
			continue
		}
		for i := range s.X {
			xs[s.X[i]] = true
			top = math.Max(top, s.Y[i])
			if s.banded() {
				top = math.Max(top, s.High[i])
			}
		}
		if s.banded() {
			poly := make(plotter.XYs, 0, 2*len(s.X))
			for i := range s.X {
				poly = append(poly, plotter.XY{X: s.X[i], Y: s.Low[i]})
			}
			for i := len(s.X) - 1; i >= 0; i-- {
				poly = append(poly, plotter.XY{X: s.X[i], Y: s.High[i]})
			}
			band, err := plotter.NewPolygon(poly)
			if err != nil {
				return err
			}
			band.LineStyle.Width = 0
			band.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 0x38}
			p.Add(band)
			eb, err := plotter.NewYErrorBars(errorBars{pts, s.Low, s.High})
			if err != nil {
				return err
			}
			eb.LineStyle.Color, eb.LineStyle.Width, eb.CapWidth = col, vg.Points(1), px(8)
			p.Add(eb)
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.LineStyle.Color, line.LineStyle.Width, line.LineStyle.Dashes = col, vg.Points(2), dash
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		dots.GlyphStyle.Color, dots.GlyphStyle.Radius, dots.GlyphStyle.Shape = col, vg.Points(3), markers[s.Marker%len(markers)]
		// A marker at every measured point, and alone where there is one; a timeline of
		// hundreds of samples is a line.
		switch {
		case len(pts) == 1:
			p.Add(dots)
			leg.Add(s.Name, dots)
		case len(pts) <= 60:
			p.Add(line, dots)
			leg.Add(s.Name, line, dots)
		default:
			p.Add(line)
			leg.Add(s.Name, line)
		}
	}
	p.Y.Min, p.Y.Max = 0, niceTop(top, c.yCap)
	p.Y.Tick.Marker = roundTicks{}
	if c.logX {
		vals := make([]float64, 0, len(xs))
		for x := range xs {
			vals = append(vals, x)
		}
		sort.Float64s(vals)
		if len(vals) > 0 && vals[0] > 0 {
			p.X.Scale = plot.LogScale{}
			if c.octaves {
				p.X.Tick.Marker = octaveTicks{}
			} else {
				p.X.Tick.Marker = measuredTicks(vals)
			}
			// A margin of a fraction of a doubling keeps end points off the frame.
			p.X.Min, p.X.Max = vals[0]/1.3, vals[len(vals)-1]*1.3
		}
	} else {
		p.X.Tick.Marker = roundTicks{}
	}
	// A reference (the SLO's target) runs across the whole plot, in no run's style.
	for _, s := range refs {
		l, err := plotter.NewLine(xyOf([]float64{p.X.Min, p.X.Max}, s.Y[:2]))
		if err != nil {
			return err
		}
		l.LineStyle.Color, l.LineStyle.Width, l.LineStyle.Dashes = referenceGrey, vg.Points(1), dashes[1]
		p.Add(l)
		leg.Add(s.Name, l)
	}
	return nil
}

// addBars draws a grouped bar chart: each run's group of bars (English, then Korean) at
// its name, every bar with its trials' interval.
func (c Chart) addBars(p *plot.Plot, leg *plot.Legend) error {
	b := c.bars
	n := len(b.Sets)
	width := px(math.Min(70, 560/float64(len(b.Groups)*n+len(b.Groups))))
	top := 0.0
	labels := make([]string, len(b.Groups))
	for gi, g := range b.Groups {
		// framework on one line, preset under it: four runs' names side by side fit.
		labels[gi] = strings.Replace(g.Label, "/", "/\n", 1)
		for si := range b.Sets {
			if !math.IsNaN(g.Value[si]) {
				top = math.Max(top, g.Value[si]+g.Err[si])
			}
		}
	}
	for si, set := range b.Sets {
		vals := make(plotter.Values, len(b.Groups))
		var errPts plotter.XYs
		var errs []float64
		for gi, g := range b.Groups {
			vals[gi] = g.Value[si]
			if math.IsNaN(vals[gi]) {
				vals[gi] = 0 // no bar: nothing measured
				continue
			}
			if g.Err[si] > 0 {
				errPts = append(errPts, plotter.XY{X: float64(gi), Y: g.Value[si]})
				errs = append(errs, g.Err[si])
			}
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		col := barColors[si%len(barColors)]
		bc.Color, bc.LineStyle.Width = col, 0
		bc.Offset = vg.Length(float64(si)-float64(n-1)/2) * width
		p.Add(bc)
		leg.Add(set, bc)
		if len(errPts) > 0 {
			lows, highs := make([]float64, len(errs)), make([]float64, len(errs))
			for i, e := range errs {
				lows[i], highs[i] = errPts[i].Y-e, errPts[i].Y+e
			}
			eb, err := plotter.NewYErrorBars(errorBars{errPts, lows, highs})
			if err != nil {
				return err
			}
			eb.LineStyle.Width, eb.CapWidth = vg.Points(1.2), width/3
			p.Add(offsetBars{eb, bc.Offset})
		}
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.75, float64(len(b.Groups))-0.25
	p.Y.Min, p.Y.Max = 0, niceTop(top, c.yCap)
	p.Y.Tick.Marker = roundTicks{}
	if c.XName != "" {
		p.X.Label.Text = c.XName
	}
	return nil
}

// offsetBars draws error bars shifted as far as their bars are from the group's centre.
type offsetBars struct {
	*plotter.YErrorBars
	dx vg.Length
}

func (o offsetBars) Plot(c draw.Canvas, p *plot.Plot) {
	c.Min.X += o.dx
	c.Max.X += o.dx
	o.YErrorBars.Plot(c, p)
}

func xyOf(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, len(x))
	for i := range x {
		pts[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return pts
}

// errorBars gives plotter.YErrorBars each point's interval as distances below and above it.
type errorBars struct {
	plotter.XYs
	low, high []float64
}

func (e errorBars) YError(i int) (float64, float64) {
	return e.XYs[i].Y - e.low[i], e.high[i] - e.XYs[i].Y
}

// niceTop is the top of the y axis: a little above the highest value, rounded to a tick
// step; or capAt where set (100 for percentages).
func niceTop(top, capAt float64) float64 {
	if capAt > 0 {
		return capAt
	}
	if top <= 0 {
		return 1
	}
	step := niceStep(top*1.08, ticksPerAxis)
	return math.Ceil(top*1.08/step) * step
}

// ticksPerAxis is about how many labelled ticks an axis gets. With the same count, an axis
// top from niceTop is a whole number of roundTicks' steps.
const ticksPerAxis = 8

// niceStep is the round step (1, 2 or 5 times a power of ten) that cuts span into about n.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*mag >= raw*0.999 {
			return f * mag
		}
	}
	return 10 * mag
}

// roundTicks are ticks at a round step from the axis's minimum (0, 250, 500… not 30, 59,
// 88), with an unlabelled one halfway between.
type roundTicks struct{}

func (roundTicks) Ticks(lo, hi float64) []plot.Tick {
	half := niceStep(hi-lo, ticksPerAxis) / 2
	var ts []plot.Tick
	for k := math.Ceil(lo / half); k*half <= hi+half*1e-9; k++ {
		t := plot.Tick{Value: k * half}
		if math.Mod(k, 2) == 0 {
			t.Label = number(t.Value)
		}
		ts = append(ts, t)
	}
	return ts
}

// octaveTicks are ticks at the powers of two, every other one labelled when there are
// more than ten.
type octaveTicks struct{}

func (octaveTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(math.Log2(lo)), math.Floor(math.Log2(hi))
	every := 1.0
	if last-first >= 10 {
		every = 2
	}
	var ts []plot.Tick
	for k := first; k <= last; k++ {
		t := plot.Tick{Value: math.Exp2(k)}
		if math.Mod(k, every) == 0 {
			t.Label = number(t.Value)
		}
		ts = append(ts, t)
	}
	return ts
}

// measuredTicks label every measured x (1, 8, 16, 32, 64), thinned to at most 12.
func measuredTicks(xs []float64) plot.ConstantTicks {
	step := (len(xs) + 11) / 12
	var ts plot.ConstantTicks
	for i, x := range xs {
		t := plot.Tick{Value: x}
		if i%step == 0 || i == len(xs)-1 {
			t.Label = number(x)
		}
		ts = append(ts, t)
	}
	return ts
}

// number formats an axis value: whole numbers from 10 up (with no exponent), a few
// digits below.
func number(f float64) string {
	if math.Abs(f) >= 10 || f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}
