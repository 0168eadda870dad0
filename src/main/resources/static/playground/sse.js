// Server-sent events over fetch: the API's streams are POSTs (and /kv/stream needs a Bearer header),
// which EventSource cannot send. Yields each event's data (comments and [DONE] are left out).
export async function* sseEvents(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = block.split(/\r?\n/).filter(l => l.startsWith('data:'))
          .map(l => l.slice(5).replace(/^ /, '')).join('\n');
        if (data === '' || data === '[DONE]') continue;
        yield data;
      }
    }
  } finally {
    if (!signal?.aborted) reader.cancel().catch(() => {});
  }
}

/** Headers with the API key as a Bearer token when one is set. */
export function authHeaders(key, extra = {}) {
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

/** An OpenAI error body ({"error": {"message", "type", ...}}) or any other failure as one readable line. */
export async function errorMessage(response) {
  const text = await response.text().catch(() => '');
  try {
    const e = JSON.parse(text).error;
    if (e?.message) return `${response.status} ${e.type ?? 'error'}: ${e.message}`;
  } catch { /* not JSON */ }
  return `${response.status} ${response.statusText || 'error'}${text ? ': ' + text.slice(0, 200) : ''}`;
}
