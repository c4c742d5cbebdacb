// What `courier config check` shows: the resolved config with each secret replaced by where it comes from, so the
// printout can be pasted into a ticket or a log without leaking anything.
import { stringify } from 'yaml';
import type { CourierConfig, HeaderValue } from './schema.ts';
import { describeSecret, type SecretRef } from './secrets.ts';

/** The config as plain data with every secret reference shown as `<from env NAME>` or `<file /path>`. */
export function printableConfig(config: CourierConfig): Record<string, unknown> {
  const hide = (value: SecretRef | HeaderValue): string => (typeof value === 'string' ? value : describeSecret(value));
  const token = config.storage.webhdfs?.delegationToken;
  return {
    ...config,
    ...(token && { storage: { ...config.storage, webhdfs: { ...config.storage.webhdfs, delegationToken: hide(token) } } }),
    partners: config.partners.map((partner) => ({
      ...partner,
      ...(partner.streaming && {
        streaming: {
          ...partner.streaming,
          headers: Object.fromEntries(Object.entries(partner.streaming.headers).map(([name, value]) => [name, hide(value)])),
        },
      }),
      ...(partner.batch && {
        batch: {
          ...partner.batch,
          sftp: {
            ...partner.batch.sftp,
            ...(partner.batch.sftp.privateKey && { privateKey: hide(partner.batch.sftp.privateKey) }),
            ...(partner.batch.sftp.password && { password: hide(partner.batch.sftp.password) }),
          },
        },
      }),
    })),
  };
}

/** The printable config as YAML, ready for a terminal. */
export function printableConfigYaml(config: CourierConfig): string {
  return stringify(printableConfig(config), { lineWidth: 0 });
}
