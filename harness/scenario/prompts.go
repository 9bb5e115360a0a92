package scenario

import (
	"context"
	"fmt"
	"math"

	"github.com/servegate/servegate/fixtures"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/stream"
)

// job is one request ready to send.
type job struct {
	req   stream.Request
	chars int
}

// prompts builds the requests numbered ks (warm-ups first, then the measured ones) for
// point p of trial; prefix-sharing points share one system prompt per trial.
func (r *Runner) prompts(ctx context.Context, p Point, trial int, ks []int, tag string) ([]job, error) {
	pairs, err := fixtures.Pairs()
	if err != nil {
		return nil, err
	}
	out := make([]job, 0, len(ks))
	var shared *stream.Message // one system prompt for every request of the trial
	for _, k := range ks {
		id := fmt.Sprintf("%s-%s-t%d-%d", r.Nonce, tag, trial, k)
		pair := pairs[k%len(pairs)]
		var msgs []stream.Message
		switch p.Prompts {
		case Plain:
			// The id at the start makes every prompt unique from its first tokens, so no
			// prefix cache serves it; the question and filler after it are the same for
			// every request of the trial, so every prompt counts the same under any
			// tokenizer and an estimated count lands all of them equally close.
			head := fmt.Sprintf("[%s] %s\n\n", id, pairs[trial%len(pairs)].English)
			build := func(words, pads int) []stream.Message {
				return []stream.Message{{Role: "user", Content: head + prompt.Filler(trial*97, words, pads)}}
			}
			if msgs, err = r.fit(ctx, build, p.InputTokens); err != nil {
				return nil, fmt.Errorf("build %d-token prompt: %w", p.InputTokens, err)
			}
		case SharedPrefix:
			if shared == nil {
				if shared, err = r.systemPrompt(ctx, fmt.Sprintf("[session %s-t%d]\n", r.Nonce, trial), p.PrefixTokens); err != nil {
					return nil, err
				}
			}
			msgs = []stream.Message{*shared, {Role: "user", Content: fmt.Sprintf("Question %d: %s", k, pair.English)}}
		case UnsharedPrefix:
			sys, err := r.systemPrompt(ctx, fmt.Sprintf("[session %s]\n", id), p.PrefixTokens)
			if err != nil {
				return nil, err
			}
			msgs = []stream.Message{*sys, {Role: "user", Content: fmt.Sprintf("Question %d: %s", k, pair.English)}}
		case English:
			msgs = []stream.Message{{Role: "user", Content: pair.English}}
		case Korean:
			msgs = []stream.Message{{Role: "user", Content: pair.Korean}}
		default:
			return nil, fmt.Errorf("point %s: unknown prompt kind %q", p.Name, p.Prompts)
		}
		req := stream.Request{ID: id, Messages: msgs, MaxTokens: p.OutputTokens, IgnoreEOS: r.Target.lengthMethod().Forced(),
			NumCtx: r.Target.NumCtx}
		if r.Target.Render != nil {
			if req.PromptIDs, err = r.Target.Render(ctx, msgs); err != nil {
				return nil, fmt.Errorf("render prompt %s with the server's chat template: %w", id, err)
			}
		}
		out = append(out, job{req: req, chars: prompt.Chars(msgs)})
	}
	return out, nil
}

// systemPrompt returns a system message of exactly tokens tokens: head (which makes it
// shared or unique from its first token), the fixture system prompt, then filler.
func (r *Runner) systemPrompt(ctx context.Context, head string, tokens int) (*stream.Message, error) {
	build := func(words, pads int) []stream.Message {
		return []stream.Message{{Role: "system", Content: head + fixtures.SystemPrompt() + "\n" + prompt.Filler(0, words, pads)}}
	}
	msgs, err := r.fit(ctx, build, tokens)
	if err != nil {
		return nil, fmt.Errorf("build %d-token system prompt: %w", tokens, err)
	}
	return &msgs[0], nil
}

// fit builds messages of exactly target tokens: with the target's Count, then, where the
// server offers a tokenizer, refitted against it from there (a few round trips).
func (r *Runner) fit(ctx context.Context, build prompt.Builder, target int) ([]stream.Message, error) {
	msgs, n, words, err := prompt.FitFrom(r.Target.Count, build, target, 0)
	if r.Target.Tokenize == nil {
		if err != nil && msgs != nil && math.Abs(float64(n-target)) <= r.Target.CountTolerance*float64(target) {
			return msgs, nil // as close as the estimate resolves
		}
		return msgs, err
	}
	if err != nil && words == 0 {
		return msgs, err
	}
	var tokErr error
	exact := func(m []stream.Message) int {
		if tokErr != nil {
			return math.MaxInt32
		}
		n, err := r.Target.Tokenize(ctx, m)
		if err != nil {
			tokErr = err
			return math.MaxInt32
		}
		return n + r.countOffset // what the server will count
	}
	msgs, _, _, err = prompt.FitFrom(exact, build, target, words)
	if tokErr != nil {
		return nil, fmt.Errorf("count prompt tokens with the server's tokenizer: %w", tokErr)
	}
	return msgs, err
}
