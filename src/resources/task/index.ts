import { ObjectId } from 'mongodb';
import type { ActionDefinition } from '../../core/dispatch.js';
import { defineResource } from '../../core/resource.js';
import { alsoForServices, ATTACHMENTS, checkingAttachments, hardDelete, withCreatedDate } from '../dream/diary.js';

/** The action with its Chinese title (kept as the same object: the standard marks are tracked by identity). */
function named(action: ActionDefinition, titleZh: string): ActionDefinition {
  action.titleZh = titleZh;
  return action;
}

/** Задача — a step towards a goal (seed 002); done or not. */
const task = defineResource({
  name: 'task',
  summary: 'Задачи целей (tasks of goals, seed 002); each user sees only their own',
  titleZh: '任务',
  fields: {
    goal_id: { type: 'M object_id', note: "the goal (must be one of the caller's goals)" },
    text: { type: 'M string(1,2000)', note: 'подробное описание задачи' },
    attachments: ATTACHMENTS,
    due_date: { type: 'O datetime', note: 'when the task should be done' },
    done: { type: 'O bool', note: 'set by mark_done / mark_undone (default false)' },
  },
  stored: { user_id: { type: 'O object_id', note: 'the owner (set from the caller)' } },
  defaults: { done: false },
  owner: { field: 'user_id', resource: 'user' },
  references: { goal_id: 'goal' },
  immutable: ['goal_id'],
  callers: ['user'],
  indexes: [
    { key: { user_id: 1, goal_id: 1, _id: -1 }, name: 'user_id_1_goal_id_1__id_-1' },
    { key: { user_id: 1, _id: -1 }, name: 'user_id_1__id_-1' },
    { key: { goal_id: 1, _id: -1 }, name: 'goal_id_1__id_-1' },
    { key: { done: 1, _id: -1 }, name: 'done_1__id_-1' },
    { key: { due_date: 1, _id: 1 }, name: 'due_date_1__id_1' },
  ],
  derive: withCreatedDate,
  actions: (std) => {
    const create = checkingAttachments(std.create({ fields: ['goal_id', 'text', 'attachments', 'due_date'] }));
    const insert = create.handler;
    // another user's goal is not_found, like any of their records (the reference check alone would say 400)
    create.handler = async (params, ctx) => {
      const goalId = params.goal_id;
      // 'M object_id' is converted before any handler runs; the guard narrows the wrapped handler's untyped params
      if (!(goalId instanceof ObjectId)) throw new TypeError('task/create: goal_id reached the handler unconverted');
      await (std.model.targets.get('goal_id') as typeof std.model).loadOr404(ctx.db, goalId, { _id: 1 });
      return await insert(params, ctx);
    };
    create.errors = ['invalid_params', 'not_found'];
    return {
      create,
      update: checkingAttachments(std.update()),
      find: alsoForServices(std.find({ result: 'task_detail', filters: { goal_id: ['eq'], done: ['eq'] }, sortable: ['_id', 'due_date'] })),
      mark_done: named(std.mark({ field: 'done', from: [false], to: true }), '完成任务'),
      mark_undone: named(std.mark({ field: 'done', from: [true], to: false }), '撤销完成任务'),
      delete: { ...hardDelete(std.model), titleZh: '删除任务' },
    };
  },
});

export default task;
