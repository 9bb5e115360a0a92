package scenario

import (
	"context"
	"fmt"
	"slices"

	"github.com/servegate/servegate/harness/stream"
)

// measuresText says whether p's prompts keep their natural length, so that their tokens
// per character describe the text (the English/Korean pairs): for those the chat
// template's share is measured and taken out (input_content_tokens_per_char).
func measuresText(p Point) bool { return p.Prompts == English || p.Prompts == Korean }

// templateTokens measures what the server's chat template adds to a prompt shaped like
// j's: the prompt tokens of j's messages with their contents emptied, from the server's
// tokenizer where it has one, else from the usage of a one-token request.
func (r *Runner) templateTokens(ctx context.Context, c *stream.Client, j job) (int, error) {
	empty := slices.Clone(j.req.Messages)
	for i := range empty {
		empty[i].Content = ""
	}
	if r.Target.Tokenize != nil {
		n, err := r.Target.Tokenize(ctx, empty)
		if err != nil {
			return 0, fmt.Errorf("count the chat template's tokens: %w", err)
		}
		return n, nil
	}
	req := j.req
	req.ID, req.Messages, req.MaxTokens = j.req.ID+"-template", empty, 1
	var rec stream.Record
	c.Stream(ctx, req, &rec)
	if rec.Err != nil {
		return 0, fmt.Errorf("count the chat template's tokens with an empty-content request: %w", rec.Err)
	}
	if rec.PromptTokens <= 0 {
		return 0, fmt.Errorf("count the chat template's tokens: the server reported no prompt tokens for an empty-content request")
	}
	return rec.PromptTokens, nil
}
