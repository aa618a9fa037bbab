/**
 * The one eviction rule of the verifier's caches: an insertion-ordered Map of at most `max` entries. A key
 * set again moves to the end; when the map is full, the oldest entry goes first. Returns `value`.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): V {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}
