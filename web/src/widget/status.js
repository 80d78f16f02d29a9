// Sentences of the widget's status line (pure, so that they can be tested without a DOM).

/** Why the text was clipped, one sentence per cause. */
export function clipMessage(clip) {
  const what = clip.input === 'source' ? 'The source sentence' : 'The text';
  const owner = { widget: "the widget's", model: "the model's", encdec: "the encoder-decoder's", seeded: "the seeded layers'" }[clip.owner];
  return clip.unit === 'characters'
    ? `${what} was cut to its first ${clip.max.toLocaleString('en')} characters, ${owner} limit.`
    : `${what} was clipped to ${clip.max} tokens, ${owner} limit.`;
}

/** Bytes as megabytes for people: 13.5 MB. */
export function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
