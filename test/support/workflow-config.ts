// The partners section of the configs workflow tests run `courier run` with: one streaming and one batch partner
// (its SFTP password read from ./pw.txt next to the config, which the test writes).
export const STREAMING_AND_BATCH_PARTNERS = `partners:
  - id: 17
    name: acme-dsp
    delivery: streaming
    segmentMap: { 1001: acme-auto, 1002: acme-travel, 1003: 55012 }
    streaming:
      url: http://127.0.0.1:8089/acme?uid=\${PARTNER_USER_ID}
  - id: 42
    name: globex-dmp
    delivery: batch
    segmentMap: { 1001: GX-AUTO, 1004: GX-SPORTS }
    expiryDays: 60
    batch:
      sftp: { host: 127.0.0.1, user: courier, password: { file: ./pw.txt }, hostKeySha256: "SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE" }
      remoteDir: /incoming
      template: { fields: [partner_user_id, segments], header: ["#rows=\${ROWS}"] }
`;

/** Segment ids the partners above map (for generateSyntheticData's configuredSegmentIds). */
export const MAPPED_SEGMENT_IDS = [1001, 1002, 1003, 1004];
