import { defineAction } from '../../core/declared-types.js';
import { defineResource } from '../../core/resource.js';
import { alsoForServices, hardDelete, withCreatedDate } from '../dream/diary.js';
import task from '../task/index.js';

/** The most tasks `goal/get` answers with its goal. */
const TASKS_PER_GOAL = 500;

/** Цель — a goal, often made from a dream (seed 002), tracked with tasks. */
export default defineResource({
  name: 'goal',
  summary: 'Цели пользователя (goals, seed 002), with their tasks; each user sees only their own',
  titleZh: '目标',
  fields: {
    name: { type: 'M string(1,200)', note: 'название / краткое описание цели' },
    due_date: { type: 'O datetime', note: 'when the goal should be reached' },
    dream_id: { type: 'O object_id', note: 'the dream it was made from (make_goal)' },
  },
  stored: { user_id: { type: 'O object_id', note: 'the owner (set from the caller)' } },
  owner: { field: 'user_id', resource: 'user' },
  immutable: ['dream_id'],
  callers: ['user'],
  indexes: [
    { key: { user_id: 1, _id: -1 }, name: 'user_id_1__id_-1' },
    { key: { name: 1 }, name: 'name_1' },
    { key: { dream_id: 1, _id: -1 }, name: 'dream_id_1__id_-1' },
    { key: { due_date: 1, _id: 1 }, name: 'due_date_1__id_1' },
  ],
  // get adds the goal's tasks after the derive; a find answers none
  derive: (record) => ({ ...withCreatedDate(record), tasks: record.tasks ?? [] }),
  actions: (std) => ({
    create: std.create(),
    get: alsoForServices(
      defineAction({
        ...std.get({ result: 'goal_detail' }),
        summary: `One goal with its tasks (up to ${TASKS_PER_GOAL}, one query for all of them)`,
        handler: async ({ _id }, ctx) => {
          const record = withCreatedDate(await std.model.loadOr404(ctx.db, _id));
          const tasks = await task.model
            .collection(ctx.db)
            .find(task.model.live({ goal_id: record._id }))
            .sort({ _id: 1 })
            .limit(TASKS_PER_GOAL)
            .toArray();
          return { ...record, tasks: tasks.map(withCreatedDate) };
        },
      }),
    ),
    find: alsoForServices(
      std.find({ result: 'goal_brief', filters: { name: ['icontains'], dream_id: ['eq'] }, sortable: ['_id', 'due_date'] }),
    ),
    update: std.update(),
    delete: {
      ...hardDelete(std.model, async (id, ctx) => {
        await task.model.collection(ctx.db).deleteMany(task.model.live({ goal_id: id }));
      }),
      summary: 'Delete a goal and its tasks for good',
      titleZh: '删除目标',
    },
  }),
});
