import { defineAction } from '../../core/declared-types.js';
import { defineResource } from '../../core/resource.js';
import goal from '../goal/index.js';
import { alsoForServices, ATTACHMENTS, checkingAttachments, hardDelete, withCreatedDate } from './diary.js';

/** Мечта — a user's dream (seed 002): a name, ideas, attachments; a dream becomes a goal with make_goal. */
export default defineResource({
  name: 'dream',
  summary: 'Мечты пользователя (dreams, seed 002); each user sees only their own',
  titleZh: '梦想',
  fields: {
    name: { type: 'M string(1,200)', note: 'название мечты' },
    additional_data: { type: 'O string(0,10000)', note: 'дополнительный текст: идеи и мысли' },
    attachments: ATTACHMENTS,
  },
  stored: { user_id: { type: 'O object_id', note: 'the owner (set from the caller)' } },
  owner: { field: 'user_id', resource: 'user' },
  callers: ['user'],
  indexes: [
    { key: { user_id: 1, _id: -1 }, name: 'user_id_1__id_-1' },
    { key: { name: 1 }, name: 'name_1' },
    { key: { created_at: 1, _id: 1 }, name: 'created_at_1__id_1' },
  ],
  derive: withCreatedDate,
  actions: (std) => ({
    create: checkingAttachments(std.create()),
    update: checkingAttachments(std.update()),
    get: alsoForServices(std.get({ result: 'dream_detail' })),
    find: alsoForServices(std.find({ result: 'dream_detail', filters: { name: ['icontains'] }, sortable: ['_id', 'created_at'] })),
    delete: { ...hardDelete(std.model), titleZh: '删除梦想' },
    make_goal: defineAction({
      summary: 'Turn a dream into a goal: the name is copied and the dream kept as dream_id',
      titleZh: '梦想转为目标',
      errors: ['invalid_params', 'not_found'],
      params: { _id: 'M object_id', due_date: { type: 'O datetime', note: 'when the goal should be reached' } },
      result: 'generic_summary',
      handler: async ({ _id, due_date }, ctx) => {
        const dream = await std.model.loadOr404(ctx.db, _id, { name: 1 });
        const made = { name: dream.name, dream_id: dream._id, ...(due_date !== undefined ? { due_date } : {}) };
        return { _id: await goal.model.insert(ctx.db, made) };
      },
    }),
  }),
});
