import type { ObjectId } from 'mongodb';
import { describe, expectTypeOf, it } from 'vitest';
import { defineAction, type ParamsOf, type ParamValue } from '../../src/core/declared-types.js';
import { defineResource } from '../../src/core/resource.js';
import type { PASSPORT_FIELDS } from '../../src/resources/passport/fields.js';
import type { MONEY } from '../../src/resources/wallet/index.js';

// Type tests: `tsc --noEmit` (and `npm run typecheck`) check them; at run time they only prove the file loads.

describe('the type of one declared param', () => {
  it('reads M object_id as an ObjectId', () => {
    expectTypeOf<ParamValue<'M object_id'>>().toEqualTypeOf<ObjectId>();
  });
  it('reads string(1,64) as a string', () => {
    expectTypeOf<ParamValue<'M string(1,64)'>>().toEqualTypeOf<string>();
  });
  it('reads a one-sided int(0,) as a number', () => {
    expectTypeOf<ParamValue<'O int(0,)'>>().toEqualTypeOf<number>();
  });
  it('reads datetime or date as a Date', () => {
    expectTypeOf<ParamValue<'M datetime'>>().toEqualTypeOf<Date>();
    expectTypeOf<ParamValue<'M date'>>().toEqualTypeOf<Date>();
  });
  it('reads enum<int> as the union of its values', () => {
    expectTypeOf<ParamValue<'M enum<int>(100, 200,900)'>>().toEqualTypeOf<100 | 200 | 900>();
  });
  it('reads enum<str> as the union of its values, inner spaces kept', () => {
    expectTypeOf<ParamValue<"M enum<str>(a b, 'c')">>().toEqualTypeOf<'a b' | 'c'>();
  });
  it('reads an enum built at run time as its base type', () => {
    expectTypeOf<ParamValue<`M enum<str>(${string})`>>().toEqualTypeOf<string>();
  });
  it('reads list<T>(min,max) as a list of T', () => {
    expectTypeOf<ParamValue<'O list<string(1,32)>(0,50)'>>().toEqualTypeOf<string[]>();
    expectTypeOf<ParamValue<'O list<enum<str>(x,y)>(1,2)'>>().toEqualTypeOf<('x' | 'y')[]>();
  });
  it('reads json<list> or json<map> as parsed JSON', () => {
    expectTypeOf<ParamValue<'O json<list>'>>().toEqualTypeOf<unknown[]>();
    expectTypeOf<ParamValue<'O json<map>'>>().toEqualTypeOf<Record<string, unknown>>();
  });
  it('reads a nullable param as null too', () => {
    expectTypeOf<ParamValue<{ type: 'O string'; nullable: true }>>().toEqualTypeOf<string | null>();
  });
  it('reads a text that is only known at run time as unknown', () => {
    expectTypeOf<ParamValue<string>>().toEqualTypeOf<unknown>();
  });
});

describe('the params of a declaration', () => {
  it('makes only M params required (O, C optional)', () => {
    type P = ParamsOf<{ _id: 'M object_id'; name: { type: 'O string(1,64)'; note: 'x' }; phone: 'C string' }>;
    expectTypeOf<P>().toEqualTypeOf<{ _id: ObjectId; name?: string; phone?: string }>();
  });
  it('types the fields of a dict or of a list<dict>', () => {
    type P = ParamsOf<{
      stage: { type: 'M dict'; fields: { id: 'O string'; at: 'M datetime' } };
      rows: { type: 'M list<dict>(0,5)'; fields: { passed: 'O bool' } };
    }>;
    expectTypeOf<P>().toEqualTypeOf<{ stage: { id?: string; at: Date }; rows: { passed?: boolean }[] }>();
  });
});

describe('defineAction', () => {
  it('gives the handler the declared params', () => {
    defineAction({
      params: { _id: 'M object_id', money: { type: 'M int(1,100)', note: 'cents' }, state: 'O enum<int>(100,200)' },
      result: 'ok_result',
      handler: async (params) => {
        expectTypeOf(params).toEqualTypeOf<{ _id: ObjectId; money: number; state?: 100 | 200 }>();
        return {};
      },
    });
  });
  it('refuses a handler that reads a param the declaration renamed', () => {
    defineAction({
      params: { wallet_id: 'M object_id' },
      result: 'ok_result',
      // @ts-expect-error: account_id is not a declared param (it was renamed to wallet_id)
      handler: async ({ account_id }) => ({ account_id }),
    });
  });
  it('refuses a rule naming an undeclared param', () => {
    defineAction({
      params: { phone: 'C string', card: 'C string' },
      // @ts-expect-error: cards is not a declared param
      rules: [{ exactlyOne: ['phone', 'cards'] }],
      result: 'ok_result',
      handler: async () => ({}),
    });
  });
});

describe('the declarations of the resources', () => {
  it('types the passport fields from their declaration', () => {
    type P = ParamsOf<typeof PASSPORT_FIELDS>;
    expectTypeOf<P['internal_id']>().toEqualTypeOf<string>();
    expectTypeOf<P['date']>().toEqualTypeOf<Date>();
    expectTypeOf<P['components_internal_ids']>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<P['status']>().toEqualTypeOf<string>();
  });
  it("types the wallet's money as a number", () => {
    expectTypeOf<ParamValue<typeof MONEY>>().toEqualTypeOf<number>();
  });
});

// Never called: each @ts-expect-error fails `tsc` when the typo it marks stops being a compile error.
const FIELDS = { name: 'M string(1,64)', state: 'O enum<int>(100,200)', group_id: 'O object_id' } as const;
const typos = [
  () =>
    defineResource({
      name: 'r',
      fields: FIELDS,
      // @ts-expect-error: nmae is not a declared field
      defaults: { nmae: 'x' },
      actions: () => ({}),
    }),
  () =>
    defineResource({
      name: 'r',
      fields: FIELDS,
      // @ts-expect-error: a reference names a declared field
      references: { groupid: 'group' },
      actions: () => ({}),
    }),
  () =>
    defineResource({
      name: 'r',
      fields: FIELDS,
      // @ts-expect-error: immutable names declared fields
      immutable: ['nam'],
      actions: () => ({}),
    }),
  () =>
    defineResource({
      name: 'r',
      fields: FIELDS,
      // @ts-expect-error: an index key names a declared field
      indexes: [{ key: { stat: 1 }, name: 'stat_1' }],
      actions: () => ({}),
    }),
  () =>
    defineResource({
      name: 'r',
      fields: FIELDS,
      indexes: [{ key: { state: 1, _id: -1, deleted_at: 1 }, name: 'state_1__id_-1' }],
      actions: (std) => ({
        // @ts-expect-error: a filter names a declared field
        find: std.find({ result: 'x', filters: { stat: ['eq'] } }),
        // @ts-expect-error: so does a sortable field
        find_sorted: std.find({ result: 'x', sortable: ['_id', 'nmae'] }),
        // @ts-expect-error: and a find_one key
        find_one: std.findOne({ result: 'x', keys: ['phone'] }),
        // @ts-expect-error: and a field create takes
        create: std.create({ fields: ['name', 'groups'] }),
        // @ts-expect-error: and the field a mark drives
        mark_disable: std.mark({ field: 'status', from: [100], to: 200 }),
        select: std.select({ result: 'x', filters: { state: ['eq'], created_at: ['gte'] } }),
      }),
    }),
];

describe('the names in a resource spec', () => {
  it('are checked against its fields by tsc (the builders above are never called)', () => {
    expectTypeOf(typos).items.toBeFunction();
  });
});
