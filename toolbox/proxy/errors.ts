/**
 * What a caller of a proxy or cache gets when the forwarded call fails: a
 * provider's own error keeps its name, code, message and stack (as if the
 * caller had called the provider, with the provider's name added); anything
 * else (a timeout, a lost provider, no provider) passes through with its zmp
 * name and code.
 */
import { RemoteError } from "../../core/errors.js";

export function forwardedError(error: unknown, service: string): unknown {
  if (!(error instanceof RemoteError)) return error;
  const prefix = `\`${service}\` failed on node \`${error.node}\`: ${error.remoteName}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const copy = new Error(`${message} (on node \`${error.node}\`, through a proxy)`);
  copy.name = error.remoteName;
  if (error.remoteStack !== undefined) copy.stack = error.remoteStack;
  if (error.remoteCode !== undefined) (copy as { code?: string }).code = error.remoteCode;
  return copy;
}
