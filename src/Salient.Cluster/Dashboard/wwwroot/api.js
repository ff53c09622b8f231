// The coordinator's REST/SSE API (docs/api.md) with the client's API key.

const keyStorage = 'salient.apiKey';

/** Raised for answers other than 2xx; `status` is the HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Takes a `?key=` parameter into session storage and drops it from the address bar. */
export function adoptKeyFromUrl() {
  const url = new URL(location.href);
  const key = url.searchParams.get('key');
  if (key !== null) {
    setApiKey(key);
    url.searchParams.delete('key');
    history.replaceState(null, '', url);
  }
}

export function apiKey() {
  return sessionStorage.getItem(keyStorage) ?? '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(keyStorage, key);
  else sessionStorage.removeItem(keyStorage);
}

async function request(path) {
  const key = apiKey();
  const response = await fetch(path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      // Not a problem+json body: keep the status text.
    }
    throw new ApiError(response.status, `${path}: ${response.status} ${detail}`);
  }
  return response;
}

export async function getJson(path) {
  return (await request(path)).json();
}

/** A blob of a job as an object URL (img elements cannot send the Authorization header). */
export async function blobUrl(path) {
  return URL.createObjectURL(await (await request(path)).blob());
}

/** Job path: `/api/v1/jobs/{id}` plus `suffix`. */
export function jobPath(id, suffix = '') {
  return `/api/v1/jobs/${encodeURIComponent(id)}${suffix}`;
}

/**
 * Follows a job's `progress` events (data: the Job) until `done`. EventSource cannot set headers, so the key
 * travels as `?access_token=`. Returns a function that stops following.
 */
export function followJob(id, { onProgress, onDone, onError }) {
  const key = apiKey();
  const source = new EventSource(jobPath(id, '/events') + (key ? `?access_token=${encodeURIComponent(key)}` : ''));
  source.addEventListener('progress', (e) => onProgress(JSON.parse(e.data)));
  source.addEventListener('done', () => {
    source.close();
    onDone();
  });
  // EventSource reconnects by itself after network errors; a closed source means it gave up (e.g. 401).
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) onError();
  });
  return () => source.close();
}
