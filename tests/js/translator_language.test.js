// The toy English -> German language (web/src/lib/translator/language.js): the template and lexicon,
// the grammar rules, the held-out split and determinism.
import { describe, expect, it } from 'vitest';
import {
  allSentences, makeCorpus, translateByRule, joinGerman, tokenizeEnglish, CLASSIC_PAIR, HELD_OUT_PAIRS,
} from '../../web/src/lib/translator/language.js';

describe('the toy language', () => {
  it('translates the classic pair as the issue writes it', () => {
    expect(translateByRule("The animal didn't cross the street because it was too tired"))
      .toBe('Das Tier überquerte die Straße nicht, weil es zu müde war.');
    expect(translateByRule("The animal didn't cross the street because it was too wide"))
      .toBe('Das Tier überquerte die Straße nicht, weil sie zu breit war.');
    for (const { source, target } of CLASSIC_PAIR) expect(translateByRule(source)).toBe(target);
  });

  it('has the issue lexicon in the classic template: genders, accusative articles, pronoun agreement', () => {
    const cases = [
      ["the dog didn't cross the river because it was too scared", 'Der Hund überquerte den Fluss nicht, weil er zu ängstlich war.'],
      ["the cat didn't cross the field because it was too long", 'Die Katze überquerte das Feld nicht, weil es zu lang war.'],
      ["the horse didn't cross the bridge because it was too wide", 'Das Pferd überquerte die Brücke nicht, weil sie zu breit war.'],
      ["the horse didn't cross the river because it was too wide", 'Das Pferd überquerte den Fluss nicht, weil er zu breit war.'],
      ["the cat didn't cross the bridge because it was too tired", 'Die Katze überquerte die Brücke nicht, weil sie zu müde war.'],
    ];
    for (const [en, de] of cases) expect(translateByRule(en)).toBe(de);
  });

  it('puts the verb last after weil, negation before zu, and inflects adjectives before nouns', () => {
    expect(translateByRule("the dog didn't see the street because it saw the river"))
      .toBe('Der Hund sah die Straße nicht, weil er den Fluss sah.');
    expect(translateByRule("the cow didn't reach the valley because it was not too slow"))
      .toBe('Die Kuh erreichte das Tal nicht, weil sie nicht zu langsam war.');
    expect(translateByRule('the tired bird crossed the wide river'))
      .toBe('Der müde Vogel überquerte den breiten Fluss.');
    expect(translateByRule("the mouse didn't find the road because the road was too long"))
      .toBe('Die Maus fand den Weg nicht, weil der Weg zu lang war.');
    expect(translateByRule('the horse flew over the moon')).toBeNull();
  });

  it('holds out every horse/bridge sentence (any template) and the other held-out pairs', () => {
    const { train, test, pronounTest } = makeCorpus({ seed: 1 });
    const heldOut = (s) => HELD_OUT_PAIRS.some(([a, o]) => s.fill.S === a && (s.fill.O === o || s.fill.O2 === o));
    expect(train.some(heldOut)).toBe(false);
    expect(test.every(heldOut)).toBe(true);
    expect(train.length + test.length).toBe(allSentences().length);
    const horseBridge = test.filter((s) => s.fill.S === 'horse' && s.fill.O === 'bridge');
    expect(new Set(horseBridge.map((s) => s.template)).size).toBe(8);
    expect(train.some((s) => s.source.join(' ') === tokenizeEnglish(CLASSIC_PAIR[0].source).join(' '))).toBe(true);
    // Pronoun test: every held-out sentence with "it", its German pronoun agreeing with the antecedent.
    expect(pronounTest.length).toBeGreaterThan(500);
    const gender = { er: 'm', sie: 'f', es: 'n' };
    const nounGender = { horse: 'n', bridge: 'f', cat: 'f', river: 'm', dog: 'm', meadow: 'f', sheep: 'n', street: 'f' };
    for (const s of pronounTest) expect(gender[s.target[s.pronoun.index]]).toBe(nounGender[s.pronoun.noun]);
  });

  it('is deterministic from the seed, and the seed only orders the training set', () => {
    const a = makeCorpus({ seed: 7 }), b = makeCorpus({ seed: 7 }), c = makeCorpus({ seed: 8 });
    expect(a.train.map((s) => s.source.join(' '))).toEqual(b.train.map((s) => s.source.join(' ')));
    expect(a.train.map((s) => s.source.join(' '))).not.toEqual(c.train.map((s) => s.source.join(' ')));
    expect(a.test).toEqual(c.test);
    expect(a.sourceVocab).toEqual(c.sourceVocab);
    expect(a.targetVocab.slice(0, 3)).toEqual(['<pad>', '<bos>', '<eos>']);
  });

  it('tokenizes English and joins German', () => {
    expect(tokenizeEnglish('The Animal didn’t cross, the street.')).toEqual(['the', 'animal', "didn't", 'cross', 'the', 'street']);
    expect(joinGerman(['Das', 'Tier', 'war', 'müde', ',', 'weil', 'es', '.'])).toBe('Das Tier war müde, weil es.');
  });
});
