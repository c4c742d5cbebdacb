// Small pure functions the jobs and templates call. No I/O.
export { seededRandom, type SeededRandom } from './seeded-random.ts';
