/** The collection of quality-control protocols (the passport resource removes a deleted unit's protocol). */
export const PROTOCOL_COLLECTION = 'protocol';

/** The protocol statuses of seed 000, in order. */
export const PROTOCOL_STATUS = ['Первая стадия испытаний пройдена', 'Вторая стадия испытаний пройдена', 'Протокол утверждён'] as const;
export const [FIRST_STAGE, SECOND_STAGE, APPROVED] = PROTOCOL_STATUS;
